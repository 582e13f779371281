/* salespipe: the whole sales CDC pipeline in one binary. Everything happens in cli/. */
#include "core/failpoint.h"
#include "cli/cli.h"

int main(int argc, char **argv)
{
    sp_failpoints_init();
    return cli_main(argc, argv);
}
