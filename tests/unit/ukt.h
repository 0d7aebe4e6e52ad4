/* The ukt_-prefixed runtime-lib functions (libukt_ukc.a) unit tests call beside the host libc. */
#ifndef UKT_H
#define UKT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* --- heap: runtime-lib/lib/malloc.c --- */

void ukt_uk_heap_add(void *base, size_t len);
size_t ukt_uk_heap_total(void);
size_t ukt_uk_heap_used(void);
void *ukt_malloc(size_t n);
void ukt_free(void *p);
void *ukt_calloc(size_t n, size_t size);
void *ukt_realloc(void *p, size_t n);
void *ukt_aligned_alloc(size_t align, size_t n);
void *ukt_memalign(size_t align, size_t n);
int ukt_posix_memalign(void **out, size_t align, size_t n);
size_t ukt_malloc_usable_size(void *p);
extern int ukt_errno;

/* --- entropy: runtime-lib/lib/entropy.c (uk_result_t, uk_entropy_strength_t as int) --- */

int ukt_uk_entropy_get(void *buf, size_t len);
int ukt_uk_entropy_strength(void);
void ukt_uk_entropy_add_seed(const void *buf, size_t len);
void ukt_uk_chacha20_block(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12],
                           uint8_t out[64]);

/* --- command line: runtime-lib/lib/cmdline.c (results are uk_result_t) --- */

int ukt_uk_cmdline_split(char *line, char **words, int max_words);
int ukt_uk_args_split(int nwords, char **words, int *app_first);
int ukt_uk_runtime_option(const char *word);
uint64_t ukt_uk_cmdline_host_time(void);
int ukt_uk_cmdline_virtio_mmio(int i, const char **word);
int ukt_uk_cmdline_mount(int i, const char **dev, const char **path, int *ro);
extern char **ukt_environ;
int ukt_uk_time_parse_ns(const char *digits, uint64_t *ns);
unsigned ukt_uk_cmdline_time_port(void);

/* --- TSC calibration: runtime-lib/lib/tsc_calib.c (structs from uk/internal.h) --- */

struct uk_calib_window;
struct uk_calib_ops;
struct uk_calib_result;
uint64_t ukt_uk_calib_window_hz(const struct uk_calib_window *w, uint64_t ref_hz);
int ukt_uk_calib_run(const struct uk_calib_ops *ops, uint32_t want, uint64_t ref_hz,
                     struct uk_calib_result *out);

/* --- libc subset: runtime-lib/lib/{printf_fp,strtod_fp,strtol,string,ctype,qsort,stdlib}.c --- */

int ukt_snprintf(char *buf, size_t size, const char *fmt, ...);
int ukt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ukt_sprintf(char *buf, const char *fmt, ...);
int ukt_vsprintf(char *buf, const char *fmt, va_list ap);

double ukt_strtod(const char *s, char **end);
float ukt_strtof(const char *s, char **end);
double ukt_atof(const char *s);

long ukt_strtol(const char *s, char **end, int base);
unsigned long ukt_strtoul(const char *s, char **end, int base);
long long ukt_strtoll(const char *s, char **end, int base);
unsigned long long ukt_strtoull(const char *s, char **end, int base);
intmax_t ukt_strtoimax(const char *s, char **end, int base);
uintmax_t ukt_strtoumax(const char *s, char **end, int base);
int ukt_atoi(const char *s);
long ukt_atol(const char *s);
long long ukt_atoll(const char *s);

void *ukt_memcpy(void *dst, const void *src, size_t n);
void *ukt_memmove(void *dst, const void *src, size_t n);
void *ukt_memset(void *dst, int c, size_t n);
int ukt_memcmp(const void *a, const void *b, size_t n);
void *ukt_memchr(const void *s, int c, size_t n);
size_t ukt_strlen(const char *s);
size_t ukt_strnlen(const char *s, size_t max);
int ukt_strcmp(const char *a, const char *b);
int ukt_strncmp(const char *a, const char *b, size_t n);
char *ukt_strcpy(char *dst, const char *src);
char *ukt_strncpy(char *dst, const char *src, size_t n);
char *ukt_strcat(char *dst, const char *src);
char *ukt_strncat(char *dst, const char *src, size_t n);
char *ukt_strchr(const char *s, int c);
char *ukt_strrchr(const char *s, int c);
char *ukt_strstr(const char *haystack, const char *needle);
size_t ukt_strspn(const char *s, const char *accept);
size_t ukt_strcspn(const char *s, const char *reject);
char *ukt_strpbrk(const char *s, const char *accept);
char *ukt_strtok_r(char *s, const char *delim, char **save);
char *ukt_strdup(const char *s);
char *ukt_strndup(const char *s, size_t n);
char *ukt_strerror(int errnum);
int ukt_strcasecmp(const char *a, const char *b);
int ukt_strncasecmp(const char *a, const char *b, size_t n);

int ukt_isalnum(int c);
int ukt_isalpha(int c);
int ukt_isblank(int c);
int ukt_iscntrl(int c);
int ukt_isdigit(int c);
int ukt_isgraph(int c);
int ukt_islower(int c);
int ukt_isprint(int c);
int ukt_ispunct(int c);
int ukt_isspace(int c);
int ukt_isupper(int c);
int ukt_isxdigit(int c);
int ukt_tolower(int c);
int ukt_toupper(int c);

void ukt_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void *ukt_bsearch(const void *key, const void *base, size_t n, size_t size,
                  int (*cmp)(const void *, const void *));
char *ukt_getenv(const char *name);
int ukt_setenv(const char *name, const char *value, int overwrite);
int ukt_unsetenv(const char *name);
int ukt_setjmp(long env[8]) __attribute__((returns_twice));
_Noreturn void ukt_longjmp(long env[8], int val);

struct timespec;
long ukt_time(long *t);
int ukt_clock_gettime(int clk, struct timespec *ts);
int ukt_nanosleep(const struct timespec *req, struct timespec *rem);

/* stdio: runtime-lib's FILE, distinct from the host's */
typedef struct uk_file ukt_FILE;
extern ukt_FILE *ukt_stdout, *ukt_stderr;
int ukt_printf(const char *fmt, ...);
int ukt_fprintf(ukt_FILE *f, const char *fmt, ...);
int ukt_fputs(const char *s, ukt_FILE *f);
int ukt_fputc(int c, ukt_FILE *f);
int ukt_puts(const char *s);
size_t ukt_fwrite(const void *buf, size_t size, size_t n, ukt_FILE *f);
int ukt_fflush(ukt_FILE *f);
int ukt_setvbuf(ukt_FILE *f, char *buf, int mode, size_t size);
void ukt_perror(const char *s);

#endif
