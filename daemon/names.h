/* Instance ids (64 hex from the kernel's CSPRNG), generated names, name validation. */
#ifndef UKD_NAMES_H
#define UKD_NAMES_H

#include <stddef.h>

#include "ukd.h"

/* Fills (out) with 2*(nbytes) lowercase hex digits + NUL from getrandom(). */
int ukd_random_hex(char *out, size_t nbytes, uk_err_t *err);
/* "adjective_noun" (plus "_N" when (attempt) > 0). */
void ukd_name_generate(char *out, size_t len, unsigned attempt);
/* 1 if (name) matches [a-zA-Z0-9][a-zA-Z0-9_.-]* and is at most 127 bytes, not 64 hex. */
int ukd_name_valid(const char *name);

/* The short id ps shows: the first 12 of the 64 hex digits. */
#define UKD_SHORT_ID_LEN 12
/* 1 if (name) could be an instance id or its short form: 12 to 64 lowercase hex digits. */
int ukd_name_looks_like_id(const char *name);

#endif
