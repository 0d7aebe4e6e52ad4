/* printf/scanf macros for the <stdint.h> types (LP64) and the intmax_t conversions. */
#ifndef UK_LIBC_INTTYPES_H
#define UK_LIBC_INTTYPES_H

#include <stdint.h>

#define UK_PRI64 "l"
#define UK_PRIPTR "l"

#define PRId8 "d"
#define PRId16 "d"
#define PRId32 "d"
#define PRId64 UK_PRI64 "d"
#define PRIi8 "i"
#define PRIi16 "i"
#define PRIi32 "i"
#define PRIi64 UK_PRI64 "i"
#define PRIu8 "u"
#define PRIu16 "u"
#define PRIu32 "u"
#define PRIu64 UK_PRI64 "u"
#define PRIo8 "o"
#define PRIo16 "o"
#define PRIo32 "o"
#define PRIo64 UK_PRI64 "o"
#define PRIx8 "x"
#define PRIx16 "x"
#define PRIx32 "x"
#define PRIx64 UK_PRI64 "x"
#define PRIX8 "X"
#define PRIX16 "X"
#define PRIX32 "X"
#define PRIX64 UK_PRI64 "X"

#define PRIdLEAST8 PRId8
#define PRIdLEAST16 PRId16
#define PRIdLEAST32 PRId32
#define PRIdLEAST64 PRId64
#define PRIuLEAST8 PRIu8
#define PRIuLEAST16 PRIu16
#define PRIuLEAST32 PRIu32
#define PRIuLEAST64 PRIu64
#define PRIxLEAST8 PRIx8
#define PRIxLEAST16 PRIx16
#define PRIxLEAST32 PRIx32
#define PRIxLEAST64 PRIx64

#define PRIdFAST8 "d"
#define PRIdFAST16 UK_PRIPTR "d"
#define PRIdFAST32 UK_PRIPTR "d"
#define PRIdFAST64 UK_PRI64 "d"
#define PRIuFAST8 "u"
#define PRIuFAST16 UK_PRIPTR "u"
#define PRIuFAST32 UK_PRIPTR "u"
#define PRIuFAST64 UK_PRI64 "u"
#define PRIxFAST8 "x"
#define PRIxFAST16 UK_PRIPTR "x"
#define PRIxFAST32 UK_PRIPTR "x"
#define PRIxFAST64 UK_PRI64 "x"

#define PRIdMAX UK_PRI64 "d"
#define PRIiMAX UK_PRI64 "i"
#define PRIuMAX UK_PRI64 "u"
#define PRIoMAX UK_PRI64 "o"
#define PRIxMAX UK_PRI64 "x"
#define PRIXMAX UK_PRI64 "X"
#define PRIdPTR UK_PRIPTR "d"
#define PRIiPTR UK_PRIPTR "i"
#define PRIuPTR UK_PRIPTR "u"
#define PRIoPTR UK_PRIPTR "o"
#define PRIxPTR UK_PRIPTR "x"
#define PRIXPTR UK_PRIPTR "X"

#define SCNd8 "hhd"
#define SCNd16 "hd"
#define SCNd32 "d"
#define SCNd64 UK_PRI64 "d"
#define SCNu8 "hhu"
#define SCNu16 "hu"
#define SCNu32 "u"
#define SCNu64 UK_PRI64 "u"
#define SCNx8 "hhx"
#define SCNx16 "hx"
#define SCNx32 "x"
#define SCNx64 UK_PRI64 "x"
#define SCNdMAX UK_PRI64 "d"
#define SCNuMAX UK_PRI64 "u"
#define SCNxMAX UK_PRI64 "x"
#define SCNdPTR UK_PRIPTR "d"
#define SCNuPTR UK_PRIPTR "u"
#define SCNxPTR UK_PRIPTR "x"

typedef struct {
	intmax_t quot, rem;
} imaxdiv_t;

intmax_t strtoimax(const char *__restrict s, char **__restrict end, int base);
uintmax_t strtoumax(const char *__restrict s, char **__restrict end, int base);
intmax_t imaxabs(intmax_t x);
imaxdiv_t imaxdiv(intmax_t num, intmax_t den);

#endif
