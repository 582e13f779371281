/* salespipe: the whole sales CDC pipeline in one binary. Everything happens in cli/. */
#include "cli/cli.h"

int main(int argc, char **argv) { return cli_main(argc, argv); }
