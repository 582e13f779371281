/* cli: the salespipe command line (demo, serve, generate, crawl, query, status, ddl, config).
 * Sits on top of every stage. */
#ifndef SP_CLI_H
#define SP_CLI_H

int cli_main(int argc, char **argv);

#endif
