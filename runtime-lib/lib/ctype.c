/* Character classes and case mapping of the "C" locale: ASCII, nothing above 127. */
#include <ctype.h>

int isascii(int c)
{
	return (unsigned int)c < 128;
}

int isdigit(int c)
{
	return (unsigned int)c - '0' < 10;
}

int islower(int c)
{
	return (unsigned int)c - 'a' < 26;
}

int isupper(int c)
{
	return (unsigned int)c - 'A' < 26;
}

int isalpha(int c)
{
	return islower(c) || isupper(c);
}

int isalnum(int c)
{
	return isalpha(c) || isdigit(c);
}

int isxdigit(int c)
{
	return isdigit(c) || (unsigned int)(c | 32) - 'a' < 6;
}

int isblank(int c)
{
	return c == ' ' || c == '\t';
}

int isspace(int c)
{
	return c == ' ' || (unsigned int)c - '\t' < 5;
}

int iscntrl(int c)
{
	return (unsigned int)c < 32 || c == 127;
}

int isprint(int c)
{
	return (unsigned int)c - ' ' < 95;
}

int isgraph(int c)
{
	return (unsigned int)c - '!' < 94;
}

int ispunct(int c)
{
	return isgraph(c) && !isalnum(c);
}

int tolower(int c)
{
	return isupper(c) ? c | 32 : c;
}

int toupper(int c)
{
	return islower(c) ? c & ~32 : c;
}
