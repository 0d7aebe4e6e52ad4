/* Weak stand-ins so a unit test can link the prefixed hosted platform; include from one .c file. */
#ifndef UKT_PLATFORM_STUB_H
#define UKT_PLATFORM_STUB_H

#include <stdlib.h>

/*
 * The console (uk_console_write) lives in the hosted platform's object, which
 * also holds its startup and so pulls in lib/start.c and its call of the app's
 * main, ukt_main here. Unit tests have their own main and never start the runtime.
 */
__attribute__((weak)) int ukt_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	abort();
}

#endif
