/*
 * fcgi/main.c - entry point of mcpgate.fcgi, the shipped responder.
 */
#include "fcgi/server.h"
#include "tools/registry.h"

int main(int argc, char **argv)
{
    tool_builtin_register();
    return fcgi_responder_main(argc, argv);
}
