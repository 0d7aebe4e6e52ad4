#!/bin/bash
# Docker habits against a real ukd: --format templates, inspect's Docker keys, rename, prunes,
# system df, the container/image groups, repeated build -t (issue 16).
# Usage: habits.sh UK_BINARY BIN_DIR SOURCE_DIR. Exit 77 (skip) without ukd or QEMU.
# shellcheck source=ukd_harness.sh
. "$(dirname "$0")/ukd_harness.sh"

mkdir -p "$TMP/three" "$TMP/spin"
cat >"$TMP/three/Ukfile" <<'UKF'
FROM uk/runtime:1
SOURCES main.c
UKF
printf '#include <stdio.h>\nint main(void) { printf("three\\n"); return 3; }\n' >"$TMP/three/main.c"
cat >"$TMP/spin/Ukfile" <<'UKF'
FROM uk/runtime:1
SOURCES main.c
UKF
printf '#include <stdio.h>\nint main(void) { printf("spinning\\n"); for (volatile unsigned long i = 0;; i++) ; }\n' >"$TMP/spin/main.c"

# --- build: every -t names the image ---
run_uk build-tags build -t three:1 -t three:2 -t other "$TMP/three"
if [ $rc -eq 0 ] && grep -q '^Successfully tagged three:2$' <<<"$out" && grep -q '^Successfully tagged other:latest$' <<<"$out"; then ok "build with three -t"; else fail "build -t -t -t: rc=$rc $out $err"; fi
run_uk images-tags images --format '{{.Repository}}:{{.Tag}}'
if [ "$(sort <<<"$out" | tr '\n' ' ')" = "other:latest three:1 three:2 " ]; then ok "repeated -t keeps every tag"; else fail "tags after build: $out $err"; fi
run_uk build-spin build -q -t spin "$TMP/spin"

# --- build -q: a failed build's compiler output still reaches standard error ---
mkdir -p "$TMP/broken"
printf 'FROM uk/runtime:1\nSOURCES main.c\n' >"$TMP/broken/Ukfile"
printf 'int main(void) { return undeclared_variable; }\n' >"$TMP/broken/main.c"
run_uk build-q-broken build -q -t broken "$TMP/broken"
if [ $rc -eq 1 ] && grep -q 'undeclared_variable' <<<"$err" && [ -z "$out" ]; then ok "build -q shows the compiler's error on stderr"; else fail "build -q broken: rc=$rc out=$out err=$err"; fi

# --- build -f: a Ukfile outside the context, one in a subdirectory, one named like the context's ---
mkdir -p "$TMP/fctx/sub" "$TMP/fout"
printf '#include <stdio.h>\nint main(int c, char **v) { printf("%%s\\n", c > 1 ? v[1] : "-"); return 0; }\n' >"$TMP/fctx/main.c"
printf 'FROM uk/runtime:1\nSOURCES main.c\nCMD ["default"]\n' >"$TMP/fctx/Ukfile"
printf 'FROM uk/runtime:1\nSOURCES main.c\nCMD ["sub"]\n' >"$TMP/fctx/sub/Ukfile.alt"
printf 'FROM uk/runtime:1\nSOURCES main.c\nCMD ["outside"]\n' >"$TMP/fout/Ukfile"
printf 'FROM uk/runtime:1\nSOURCES main.c\nCMD ["dev"]\n' >"$TMP/fout/Ukfile.dev"
printf 'FROM uk/runtime:1\nSOURCES main.c\nBOGUS x\n' >"$TMP/fout/Ukfile.bad"
fcmd() { "$UK" image inspect --format json "$1" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)[0]["config"]["cmd"]))'; }
run_uk build-f-out build -q -f "$TMP/fout/Ukfile.dev" -t fdev "$TMP/fctx"
c1=$(fcmd fdev)
run_uk build-f-clash build -q -f "$TMP/fout/Ukfile" -t fout "$TMP/fctx"
c2=$(fcmd fout)
run_uk build-f-sub build -q --file "$TMP/fctx/sub/Ukfile.alt" -t fsub "$TMP/fctx"
c3=$(fcmd fsub)
if [ "$c1 $c2 $c3" = "dev outside sub" ]; then ok "build -f: outside the context, clashing with its Ukfile, in a subdirectory"; else fail "build -f: cmds '$c1' '$c2' '$c3'"; fi
rm "$TMP/fctx/Ukfile"
run_uk build-f-bad build -f "$TMP/fout/Ukfile.bad" "$TMP/fctx"
if [ $rc -eq 1 ] && grep -q 'Ukfile.bad:3' <<<"$err$out"; then ok "build -f: errors name the file given"; else fail "build -f bad: rc=$rc $out $err"; fi
run_uk build-no-ukfile build "$TMP/fctx"
if [ $rc -eq 1 ] && grep -q 'has no Ukfile (or name one with -f)' <<<"$err"; then ok "build without a Ukfile says to use -f"; else fail "build without Ukfile: rc=$rc $err"; fi
run_uk build-f-missing build -f "$TMP/nosuch" "$TMP/fctx"
if [ $rc -eq 1 ] && grep -q 'nosuch' <<<"$err"; then ok "build -f of a missing file names it"; else fail "build -f missing: rc=$rc $err"; fi
run_uk rmi-f rmi fdev fout fsub

# --- save exports what was named, as docker save ---
saved_names() { tar -xOf "$1" index.json | python3 -c 'import json,sys; print(" ".join(sorted(m.get("annotations",{}).get("org.opencontainers.image.ref.name","?") for m in json.load(sys.stdin)["manifests"])))'; }
run_uk save-tag save -o "$TMP/t1.tar" three:1
n1=$(saved_names "$TMP/t1.tar")
run_uk tag-latest tag three:1 three:latest
run_uk save-repo save -o "$TMP/t.tar" three
n2=$(saved_names "$TMP/t.tar")
run_uk save-other save -o "$TMP/o.tar" other
n3=$(saved_names "$TMP/o.tar")
run_uk rmi-latest rmi three:latest
if [ "$n1" = "three:1" ] && [ "$n2" = "three:1 three:2 three:latest" ] && [ "$n3" = "other:latest" ]; then ok "save NAME:TAG exports that tag, save NAME that repository's tags"; else fail "save: three:1 -> '$n1', three -> '$n2', other -> '$n3'"; fi

# --- uppercase repository names are refused, as Docker's ---
run_uk tag-upper tag other Other:1
trc=$rc terr=$err
run_uk build-upper build -t Three "$TMP/three"
brc=$rc berr=$err
run_uk images-upper images --format '{{.Repository}}'
if [ $trc -ne 0 ] && [ $brc -ne 0 ] && grep -q 'Other' <<<"$terr" && ! grep -q '^Three$\|^Other$' <<<"$out"; then ok "uppercase names refused (tag, build -t)"; else fail "uppercase: tag rc=$trc $terr; build rc=$brc $berr; images: $out"; fi
# in people's words: the tag, not the REST query's parameter letter ("t: invalid reference")
if grep -q 'tag: invalid reference "Three".*must be lowercase' <<<"$berr" && ! grep -q ' t: ' <<<"$berr"; then ok "build -t's refusal names the tag"; else fail "build -t Three: $berr"; fi

# --- templates on ps, images, inspect ---
run_uk create-a create --name a three:1
printf 'GREETING=hi\n# comment\n' >"$TMP/env.list"
run_uk create-b create --name b --label tier=back --env-file "$TMP/env.list" three:2
run_uk inspect-labels inspect -f '{{index .Config.Labels "tier"}} {{json .Config.Env}}' b
if [ $rc -eq 0 ] && [ "$out" = 'back ["GREETING=hi"]' ]; then ok "--label and --env-file reach inspect"; else fail "labels/env-file: rc=$rc '$out' $err"; fi
run_uk ps-fmt ps -a --format '{{.Names}} {{.State}} {{.Image}}'
if [ $rc -eq 0 ] && grep -qx 'a created three:1' <<<"$out" && grep -qx 'b created three:2' <<<"$out"; then ok "ps --format '{{.Names}} {{.State}} {{.Image}}'"; else fail "ps --format: rc=$rc $out $err"; fi
run_uk ps-table ps -a --format 'table {{.ID}}\t{{.Names}}'
if [ $rc -eq 0 ] && grep -Eq '^INSTANCE ID +NAMES$' <<<"$out" && grep -Eq '^[0-9a-f]{12} +a$' <<<"$out"; then ok "ps --format 'table ...'"; else fail "ps table: $out $err"; fi
run_uk inspect-f inspect -f '{{.State.Status}} {{.Name}} {{.Config.Image}} {{json .Config.Cmd}} {{.state.status}}' a
if [ $rc -eq 0 ] && [ "$out" = "created /a three:1 [] created" ]; then ok "inspect -f with Docker's and uk's keys"; else fail "inspect -f: rc=$rc '$out' $err"; fi
run_uk inspect-json inspect a
if python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; assert d["State"]["Status"]=="created" and d["state"]["status"]=="created" and d["Id"]==d["id"], d' <<<"$out"; then ok "inspect JSON has both key sets"; else fail "inspect json: $out"; fi
run_uk bad-tmpl ps -a --format '{{.Names}} {{.Nmes}}'
if [ $rc -eq 2 ] && grep -q 'column 14: no field Nmes' <<<"$err" && [ -z "$out" ]; then ok "a bad field: exit 2, the column"; else fail "bad template: rc=$rc $out $err"; fi
run_uk bad-tmpl2 inspect -f '{{if .State.Running}}' a
if [ $rc -eq 2 ] && grep -q 'column 3: this block has no {{end}}' <<<"$err"; then ok "an unclosed if: exit 2, the column"; else fail "bad if: rc=$rc $out $err"; fi

# --- rename ---
run_uk rename rename a c
run_uk ps-renamed ps -a --format '{{.Names}}'
if [ $rc -eq 0 ] && grep -qx c <<<"$out" && ! grep -qx a <<<"$out"; then ok "rename a c"; else fail "rename: $out $err"; fi
run_uk rename-taken rename c b
if [ $rc -eq 1 ] && grep -q 'the name b is taken by another instance' <<<"$err" && ! grep -q status <<<"$err"; then ok "rename to a taken name: refused, said why"; else fail "rename taken: rc=$rc $err"; fi
run_uk ps-after-taken ps -a --format '{{.Names}}'
[ "$(sort <<<"$out" | tr '\n' ' ')" = "b c " ] && ok "both names intact after the refusal" || fail "names after refused rename: $out"
run_uk rename-bad rename c 'no/slash'
[ $rc -eq 1 ] && grep -q 'bad name' <<<"$err" && ok "rename to a bad name: refused" || fail "rename bad: rc=$rc $err"
run_uk rename-none rename nosuch d
[ $rc -eq 1 ] && grep -qi 'no such instance' <<<"$err" && ok "rename of no such instance" || fail "rename nosuch: rc=$rc $err"
# --until is whole seconds: the next one, so this second's rename is inside
run_uk events-rename2 events --since 0 --until "$(($(date +%s) + 1))"
grep -q ' instance rename ' <<<"$out" && ok "an instance rename event" || fail "no rename event: $out"

# --- timeout -s INT sends two SIGINTs: --rm still removes the instance ---
timeout -s INT 6 "$UK" run --rm --name sigpair spin >"$TMP/sig.out" 2>"$TMP/sig.err"
run_uk ps-sigpair ps -a --format '{{.Names}}'
if ! grep -qx sigpair <<<"$out" && grep -q spinning "$TMP/sig.out"; then ok "timeout -s INT uk run --rm: nothing left behind"; else fail "after timeout -s INT: ps=$out err=$(cat "$TMP/sig.err")"; fi

# --- main's status modulo 256, through ukd: 256 ends as 0, not 255 "without an exit status" ---
mkdir -p "$TMP/ret256"
printf 'FROM uk/runtime:1\nSOURCES main.c\n' >"$TMP/ret256/Ukfile"
printf '#include <stdio.h>\nint main(void) { printf("returning 256\\n"); return 256; }\n' >"$TMP/ret256/main.c"
run_uk build-256 build -q -t ret256 "$TMP/ret256"
run_uk run-256 run --rm ret256
if [ $rc -eq 0 ] && grep -q 'returning 256' <<<"$out" && ! grep -q 'without reporting' <<<"$err"; then ok "main returning 256: uk run exits 0"; else fail "return 256: rc=$rc out=$out err=$err"; fi
run_uk rmi-256 rmi ret256 # the counts below are of the other images

# --- groups and prunes: what is in use stays ---
run_uk run-d run -d --name spinner spin
[ $rc -eq 0 ] && ok "run -d spin" || fail "run -d: $err"
run_uk container-ls container ls -a --format '{{.Names}}'
if [ "$(sort <<<"$out" | tr '\n' ' ')" = "b c spinner " ]; then ok "container ls -a"; else fail "container ls: $out $err"; fi
run_uk image-ls image ls -q
run_uk images-q images -q
[ -n "$out" ] && ok "image ls" || fail "image ls: $err"
out=$(echo n | "$UK" container prune 2>"$TMP/err"); rc=$?
run_uk ps-kept ps -a -q
[ "$(wc -l <<<"$out")" = 3 ] && ok "container prune answered 'n' removes nothing" || fail "prune after n: $out"
run_uk system-df system df
if [ $rc -eq 0 ] && grep -Eq '^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE$' <<<"$out" && grep -Eq '^Images +2 +2 ' <<<"$out" && grep -Eq '^Instances +3 +1 +[0-9.]+k?B +[0-9.]+k?B \([0-9]+%\)$' <<<"$out"; then ok "system df counts images and instances"; else fail "system df: $out $err"; fi
run_uk container-prune container prune -f
if [ $rc -eq 0 ] && grep -q '^Deleted Instances:' <<<"$out" && [ "$(grep -Ec '^[0-9a-f]{64}$' <<<"$out")" = 2 ]; then ok "container prune -f removes the 2 stopped"; else fail "container prune: $out $err"; fi
run_uk ps-after-prune ps -a --format '{{.Names}}'
[ "$out" = spinner ] && ok "container prune keeps the running instance" || fail "after prune: $out"
run_uk image-prune image prune -f
run_uk images-after-prune images --format '{{.Repository}}:{{.Tag}}'
[ "$(sort <<<"$out" | tr '\n' ' ')" = "other:latest spin:latest three:1 three:2 " ] && ok "image prune keeps tagged images" || fail "image prune: $out $err"
run_uk image-prune-a image prune -a -f
if [ $rc -eq 0 ] && grep -q '^deleted: sha256:' <<<"$out"; then ok "image prune -a deletes unused"; else fail "image prune -a: $out $err"; fi
run_uk images-after-prune-a images --format '{{.Repository}}'
[ "$out" = spin ] && ok "image prune -a keeps the image the running instance uses" || fail "after prune -a: $out"
run_uk system-prune system prune -a -f
run_uk ps-after-system ps -a -q
[ "$(wc -l <<<"$out")" = 1 ] && ok "system prune keeps the running instance" || fail "system prune: $out"
run_uk kill kill spinner
run_uk system-prune2 system prune -a -f
run_uk images-empty images -q
run_uk ps-empty ps -a -q
[ -z "$out" ] && ok "system prune -a after the kill: nothing left" || fail "left after system prune: $out"

if ! kill -0 "$UKD_PID" 2>/dev/null; then fail "ukd died during the test"; fi
echo "$FAILS failure(s)"
[ "$FAILS" -eq 0 ]
