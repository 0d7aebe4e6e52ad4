/* Character classes and case mapping of the "C" locale (the only locale). */
#ifndef UK_LIBC_CTYPE_H
#define UK_LIBC_CTYPE_H

/* (c) is EOF or a value of unsigned char; anything else is outside every class. */
int isalnum(int c);
int isalpha(int c);
int isblank(int c);
int iscntrl(int c);
int isdigit(int c);
int isgraph(int c);
int islower(int c);
int isprint(int c);
int ispunct(int c);
int isspace(int c);
int isupper(int c);
int isxdigit(int c);
int isascii(int c);
int tolower(int c);
int toupper(int c);

#endif
