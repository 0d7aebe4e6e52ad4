/* --format templates: the common subset of Go's text/template, over JSON values (template.c). */
#ifndef UK_CLI_TEMPLATE_H
#define UK_CLI_TEMPLATE_H

#include <stdio.h>

#include <json-c/json.h>

#include "uk/error.h"

/*
 * The language: text and {{actions}} with {{- and -}} trimming; fields (.Names, .State.Status,
 * $var.Field), $ (the whole value), "strings", `raw`, numbers, true/false/nil, (pipelines),
 * pipes (.Names | upper), {{if}}/{{else if}}/{{else}}/{{end}}, {{range [$i,] [$v :=] X}} with
 * {{else}}, {{with}}, {{$x := pipeline}}, comments {{/-* ... *-/}} (without the dashes); functions
 * json, upper, lower, title, index, len, join, split, truncate, print, println, printf (%s %v %d %q
 * %%, width and
 * '-'), eq, ne, lt, le, gt, ge, not, and, or. Values print as Go's fmt does: arrays [a b],
 * objects map[k:v] (keys sorted), a missing value <no value>. A field missing from an object
 * is an error naming it (a typo is not silently empty); index of a missing key is "".
 */
struct cli_tmpl;

/* CLI_TMPL_ESCAPES: the two-character sequences \t and \n in text stand for a tab and a
 * newline (Docker's list commands do this, so `table {{.ID}}\t{{.Names}}` works in a shell). */
#define CLI_TMPL_ESCAPES 1

/* Parses (src); NULL with (err) (400, the line and column of the mistake) if it is not a
 * template. Columns count from (col0) + 1 on the first line, so a caller that cut a prefix off
 * the user's text (Docker's "table ") reports columns in the text the user typed. */
struct cli_tmpl *cli_tmpl_parse(const char *src, int flags, int col0, uk_err_t *err);
void cli_tmpl_free(struct cli_tmpl *t);
/* Runs (t) with dot = (dot) (borrowed; NULL is nil), writing to (out); -1 with (err) naming
 * the column of the action that failed. What was written before the failure stays written. */
int cli_tmpl_exec(const struct cli_tmpl *t, json_object *dot, FILE *out, uk_err_t *err);

#endif
