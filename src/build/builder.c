/* The classic builder on berth's engine (builder.h, docs/build.md). Each instruction of each stage up
 * to the target becomes an image whose parent is the previous one: metadata instructions through a
 * container that is created and committed without running, RUN through a container that runs, COPY,
 * ADD and a WORKDIR that creates its directory through a layer berth writes itself. Before each
 * step the cache is asked for a child of the current image with the same container config (the
 * command with "#(nop)" markers, the sources' checksum for COPY and ADD). */
#include "builder.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "basic/signal.h"
#include "basic/util.h"
#include "build/build-internal.h"
#include "build/dockerfile.h"
#include "build/dockerignore.h"
#include "engine/container.h"
#include "engine/engine.h"
#include "image/image.h"
#include "image/reference.h"
#include "image/tar.h"
#include "registry/registry.h"

static const char *const builtin_args[] = { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                                            "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy",
                                            NULL };

struct Build {
        Engine *e;
        char **tags; /* fully qualified */
        char **tags_familiar;
        json_t *buildargs, *labels, *registry_config;
        char *target;
        bool nocache, pull, rm, forcerm, quiet;
        char **cachefrom_ids;
        bool cachefrom; /* --cache-from given: only its images' ancestors are the cache */
        char **extrahosts;
        char *networkmode, *cpusetcpus;
        int64_t shmsize, memory, memswap, cpushares, cpuperiod, cpuquota;
        char *dir;  /* <data-root>/tmp/build-XXXXXX */
        char *ctx;  /* dir/context */
        Dockerfile *df;
        size_t first_stage_end; /* instructions of df up to the target stage's end */
        size_t total_steps;
        char **used_args; /* build args a stage declared */
        /* the run */
        BuildOutFn out;
        BuildGoneFn gone;
        void *cls;
        size_t step;
        FsRoot ctxroot;
};

typedef struct Stage {
        char *name;
        char *image_id; /* NULL: scratch, nothing yet */
        json_t *config;
        json_t *args; /* declared ARGs: name -> value (string) or null */
        bool cmd_set;
        char *author;
} Stage;

static void stage_clear(Stage *s)
{
        free(s->name);
        free(s->image_id);
        json_decref(s->config);
        json_decref(s->args);
        free(s->author);
        *s = (Stage){ 0 };
}

void build_free(Build *b)
{
        if (!b)
                return;
        strv_free(b->tags);
        strv_free(b->tags_familiar);
        json_decref(b->buildargs);
        json_decref(b->labels);
        json_decref(b->registry_config);
        free(b->target);
        strv_free(b->cachefrom_ids);
        strv_free(b->extrahosts);
        free(b->networkmode);
        free(b->cpusetcpus);
        fsroot_close(&b->ctxroot);
        if (b->dir)
                rm_rf(b->dir);
        free(b->dir);
        free(b->ctx);
        dockerfile_free(b->df);
        strv_free(b->used_args);
        free(b);
}

static void say(Build *b, const char *fmt, ...) _printf_(2, 3);
static void say(Build *b, const char *fmt, ...)
{
        if (b->quiet)
                return;
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        va_end(ap);
        _cleanup_json_ json_t *j = json_pack("{s:s}", "stream", s);
        b->out(b->cls, j);
}

static const char *short_id(const char *id)
{
        static __thread char buf[13];
        const char *h = startswith(id, "sha256:") ? id + 7 : id;
        snprintf(buf, sizeof(buf), "%.12s", h);
        return buf;
}

/* ---- prepare ---- */

static int cmp_keys(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool is_builtin_arg(const char *n)
{
        for (size_t i = 0; builtin_args[i]; i++)
                if (streq(builtin_args[i], n))
                        return true;
        return false;
}

/* The stage name of a FROM (after AS), lower-cased, or NULL. */
static char *from_stage_name(DfInstr *in)
{
        size_t n = strv_length(in->args);
        if (n == 3 && strcasecmp(in->args[1], "as") == 0) {
                char *s = xstrdup(in->args[2]);
                for (char *c = s; *c; c++)
                        *c = (char) tolower((unsigned char) *c);
                return s;
        }
        return NULL;
}

static const char *const known_cmds[] = { "from",  "run",    "cmd",     "label",      "maintainer", "expose", "env",
                                          "add",   "copy",   "entrypoint", "volume",  "user",       "workdir",
                                          "arg",   "onbuild", "stopsignal", "healthcheck", "shell", NULL };

static bool known_cmd(const char *c)
{
        for (size_t i = 0; known_cmds[i]; i++)
                if (streq(known_cmds[i], c))
                        return true;
        return false;
}

static int check_instr(DfInstr *in, BerthError **err)
{
        if (!known_cmd(in->cmd)) {
                _cleanup_free_ char *up = xstrdup(in->cmd);
                for (char *c = up; *c; c++)
                        *c = (char) toupper((unsigned char) *c);
                return berr_set(err, EINVAL, "dockerfile parse error line %d: unknown instruction: %s", in->line, up);
        }
        static const char *const copy_flags[] = { "from", "chown", "chmod", NULL };
        static const char *const add_flags[] = { "chown", "chmod", NULL };
        static const char *const hc_flags[] = { "interval", "timeout", "start-period", "retries", NULL };
        static const char *const from_flags[] = { "platform", NULL };
        const char *const *allowed = streq(in->cmd, "copy")          ? copy_flags
                                     : streq(in->cmd, "add")         ? add_flags
                                     : streq(in->cmd, "healthcheck") ? hc_flags
                                     : streq(in->cmd, "from")        ? from_flags
                                                                     : NULL;
        if (dockerfile_check_flags(in, allowed, err) < 0)
                return berr_prefix(err, "dockerfile parse error line %d", in->line);
        if ((streq(in->cmd, "copy") || streq(in->cmd, "add")) && strv_length(in->args) == 1)
                return berr_set(err, EINVAL, "dockerfile parse error line %d: %s requires at least two arguments, but only "
                                             "one was provided. Destination could not be determined", in->line,
                                streq(in->cmd, "copy") ? "COPY" : "ADD");
        if (!in->args) {
                _cleanup_free_ char *up = xstrdup(in->cmd);
                for (char *c = up; *c; c++)
                        *c = (char) toupper((unsigned char) *c);
                if (streq(in->cmd, "from"))
                        return berr_set(err, EINVAL, "dockerfile parse error line %d: FROM requires either one or three arguments", in->line);
                return berr_set(err, EINVAL, "dockerfile parse error line %d: %s requires at least one argument", in->line, up);
        }
        if (streq(in->cmd, "from")) {
                size_t n = strv_length(in->args);
                if (n != 1 && !(n == 3 && strcasecmp(in->args[1], "as") == 0))
                        return berr_set(err, EINVAL, "dockerfile parse error line %d: FROM requires either one or three arguments", in->line);
        }
        if (streq(in->cmd, "onbuild") && in->sub) {
                const char *t = in->sub->cmd;
                if (streq(t, "onbuild"))
                        return berr_set(err, EINVAL, "dockerfile parse error line %d: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", in->line);
                if (streq(t, "from") || streq(t, "maintainer"))
                        return berr_set(err, EINVAL, "dockerfile parse error line %d: %c%s isn't allowed as an ONBUILD trigger", in->line,
                                        toupper((unsigned char) t[0]), t + 1);
        }
        if (streq(in->cmd, "shell") && !in->json)
                return berr_set(err, EINVAL, "dockerfile parse error line %d: SHELL requires the arguments to be in JSON form", in->line);
        return 0;
}

/* The docker CLI sends a context whose last entry ends without its padding and the end-of-archive
 * blocks when it puts a Dockerfile from outside the context in (dockerd reads such a tar). An
 * uncompressed context that does not end on a block gets them here, in a copy; -1 when it needs none. */
static int pad_context(Build *b, int fd)
{
        struct stat st;
        unsigned char magic[6] = { 0 };
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size % 512 == 0 ||
            pread(fd, magic, sizeof(magic), 0) != (ssize_t) sizeof(magic))
                return -1;
        if ((magic[0] == 0x1f && magic[1] == 0x8b) || memcmp(magic, "BZh", 3) == 0 ||
            memcmp(magic, "\xfd" "7zXZ", 5) == 0 || memcmp(magic, "\x28\xb5\x2f\xfd", 4) == 0)
                return -1;
        _cleanup_free_ char *p = xasprintf("%s/context.tar", b->dir);
        int out = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (out < 0)
                return -1;
        unlink(p);
        _cleanup_free_ char *buf = xmalloc(65536);
        for (off_t off = 0; off < st.st_size;) {
                ssize_t n = pread(fd, buf, 65536, off);
                if (n <= 0 || loop_write(out, buf, (size_t) n) < 0) {
                        close(out);
                        return -1;
                }
                off += n;
        }
        static const char zeros[1536];
        size_t pad = 512 - (size_t) (st.st_size % 512) + 1024;
        if (loop_write(out, zeros, pad) < 0 || lseek(out, 0, SEEK_SET) < 0) {
                close(out);
                return -1;
        }
        return out;
}

int build_prepare(Engine *e, int fd, const BuildOptions *o, Build **ret, BerthError **err)
{
        int r;
        Build *b = xcalloc(1, sizeof(*b));
        b->e = e;
        b->ctxroot = (FsRoot){ 0 };
        b->nocache = o->nocache;
        b->pull = o->pull;
        b->rm = o->rm || o->forcerm;
        b->forcerm = o->forcerm;
        b->quiet = o->quiet;
        b->buildargs = o->buildargs ? json_incref(o->buildargs) : json_object();
        b->labels = o->labels ? json_incref(o->labels) : NULL;
        b->registry_config = o->registry_config ? json_incref(o->registry_config) : NULL;
        b->target = o->target && *o->target ? xstrdup(o->target) : NULL;
        b->extrahosts = strv_copy(o->extrahosts);
        b->networkmode = o->networkmode ? xstrdup(o->networkmode) : NULL;
        b->cpusetcpus = o->cpusetcpus ? xstrdup(o->cpusetcpus) : NULL;
        b->shmsize = o->shmsize;
        b->memory = o->memory;
        b->memswap = o->memswap;
        b->cpushares = o->cpushares;
        b->cpuperiod = o->cpuperiod;
        b->cpuquota = o->cpuquota;

        for (size_t i = 0; o->tags && o->tags[i]; i++) {
                if (!*o->tags[i])
                        continue;
                _cleanup_image_ref_ ImageRef *ref = NULL;
                BerthError *perr = NULL;
                if (image_ref_parse(o->tags[i], &ref, &perr) < 0 || ref->digest) {
                        berr_free(perr);
                        build_free(b);
                        return berr_set(err, EINVAL, "invalid reference format");
                }
                image_ref_default_tag(ref);
                strv_push(&b->tags, image_ref_full(ref));
                strv_push(&b->tags_familiar, image_ref_familiar(ref));
        }
        b->cachefrom = o->cachefrom && o->cachefrom[0];
        for (size_t i = 0; o->cachefrom && o->cachefrom[i]; i++) {
                char *id = NULL;
                if (image_resolve(e->images, o->cachefrom[i], &id, NULL) == 0)
                        strv_push(&b->cachefrom_ids, id); /* an unknown one is skipped, as by dockerd */
        }

        /* the context */
        _cleanup_free_ char *tmp = xasprintf("%s/tmp", e->cfg.data_root);
        mkdir_p(tmp, 0700);
        b->dir = xasprintf("%s/tmp/build-XXXXXX", e->cfg.data_root);
        if (!mkdtemp(b->dir)) {
                r = berr_set(err, errno, "cannot create a build directory: %m");
                free(b->dir);
                b->dir = NULL;
                build_free(b);
                return r;
        }
        b->ctx = xasprintf("%s/context", b->dir);
        mkdir(b->ctx, 0700);
        UnpackLimits lim = { .max_ratio = e->images->layer_max_ratio,
                             .max_size = e->images->layer_max_size,
                             .min_free = e->images->min_free_space };
        LayerUnpackInfo info;
        _cleanup_close_ int padded = pad_context(b, fd);
        r = image_unpack_fd_tee(padded >= 0 ? padded : fd, b->ctx, -1, &lim, &info, err);
        if (r < 0) {
                berr_prefix(err, "failed to read the build context");
                build_free(b);
                return r;
        }
        r = fsroot_open_dir(b->ctx, &b->ctxroot, err);
        if (r < 0) {
                build_free(b);
                return r;
        }

        /* the Dockerfile, read inside the context's root */
        const char *dfname = o->dockerfile && *o->dockerfile ? o->dockerfile : "Dockerfile";
        _cleanup_free_ char *rel = NULL;
        size_t layer = 0;
        struct stat st;
        r = fsroot_resolve(&b->ctxroot, dfname, true, &rel, &layer, &st);
        if (r < 0 && !(o->dockerfile && *o->dockerfile))
                r = fsroot_resolve(&b->ctxroot, "dockerfile", true, &rel, &layer, &st);
        if (r < 0 || !S_ISREG(st.st_mode)) {
                build_free(b);
                return berr_set(err, EIO, "Cannot locate specified Dockerfile: %s", dfname);
        }
        _cleanup_free_ char *text = NULL;
        size_t tlen = 0;
        {
                _cleanup_close_ int dfd = fsroot_open_file(&b->ctxroot, layer, rel);
                _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d", dfd);
                if (dfd < 0 || st.st_size > 16 << 20 || read_file(p, &text, &tlen) < 0) {
                        build_free(b);
                        return berr_set(err, EIO, "Cannot locate specified Dockerfile: %s", dfname);
                }
        }
        r = dockerfile_parse(text, tlen, &b->df, err);
        if (r < 0) {
                build_free(b);
                return r;
        }
        /* .dockerignore may name itself and the Dockerfile: they then leave the context */
        {
                _cleanup_free_ char *irel = NULL;
                size_t il;
                struct stat ist;
                if (fsroot_resolve(&b->ctxroot, ".dockerignore", false, &irel, &il, &ist) == 0 && S_ISREG(ist.st_mode)) {
                        _cleanup_close_ int ifd = fsroot_open_file(&b->ctxroot, il, irel);
                        _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d", ifd);
                        _cleanup_free_ char *itext = NULL;
                        size_t ilen = 0;
                        _cleanup_dockerignore_ DockerIgnore *ig = NULL;
                        if (ifd >= 0 && read_file(p, &itext, &ilen) == 0 &&
                            dockerignore_parse(itext, ilen, &ig, NULL) == 0) {
                                if (dockerignore_match(ig, rel))
                                        unlinkat(b->ctxroot.fds[0], rel, 0);
                                if (dockerignore_match(ig, ".dockerignore"))
                                        unlinkat(b->ctxroot.fds[0], ".dockerignore", 0);
                        }
                }
        }

        /* the request's labels: one LABEL instruction at the end, as dockerd adds it */
        if (json_object_size(b->labels)) {
                _cleanup_strv_free_ char **keys = NULL;
                const char *k;
                json_t *v;
                json_object_foreach(b->labels, k, v) strv_extend(&keys, k);
                qsort(keys, strv_length(keys), sizeof(char *), cmp_keys);
                DfInstr in = { .cmd = xstrdup("label"), .line = 0 };
                char *orig = xstrdup("LABEL");
                for (size_t i = 0; keys[i]; i++) {
                        _cleanup_json_ json_t *ks = json_string(keys[i]);
                        _cleanup_free_ char *kq = json_dumps(ks, JSON_ENCODE_ANY);
                        _cleanup_free_ char *vq = xasprintf("'%s'", json_string_value(json_object_get(b->labels, keys[i])));
                        char *n = xasprintf("%s %s=%s", orig, kq, vq);
                        free(orig);
                        orig = n;
                        strv_extend(&in.args, kq);
                        strv_extend(&in.args, vq);
                }
                in.original = orig;
                DfInstr *nv = xrealloc(b->df->v, (b->df->n + 1) * sizeof(DfInstr));
                b->df->v = nv;
                b->df->v[b->df->n++] = in;
        }

        /* instructions, stages and the target */
        if (b->df->n == 0) {
                build_free(b);
                return berr_set(err, EINVAL, "the Dockerfile (%s) cannot be empty", dfname);
        }
        bool seen_from = false, target_found = !b->target;
        size_t end = b->df->n;
        for (size_t i = 0; i < b->df->n; i++) {
                DfInstr *in = &b->df->v[i];
                r = check_instr(in, err);
                if (r < 0) {
                        build_free(b);
                        return r;
                }
                if (!seen_from && !streq(in->cmd, "from") && !streq(in->cmd, "arg")) {
                        build_free(b);
                        return berr_set(err, EINVAL, "no build stage in current context");
                }
                if (streq(in->cmd, "from")) {
                        if (target_found && b->target && i > 0 && end == b->df->n) {
                                end = i;
                                break;
                        }
                        seen_from = true;
                        _cleanup_free_ char *name = from_stage_name(in);
                        if (b->target && name && strcasecmp(name, b->target) == 0)
                                target_found = true;
                }
        }
        if (!target_found) {
                r = berr_set(err, EINVAL, "failed to reach build target %s in Dockerfile", b->target);
                build_free(b);
                return r;
        }
        b->first_stage_end = end;
        b->total_steps = end;
        *ret = b;
        return 0;
}

/* ---- the run ---- */

static json_t *empty_config(void)
{
        return json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:n,s:n,s:s,s:n,s:n,s:s,s:n,s:n,s:n}", "Hostname", "",
                         "Domainname", "", "User", "", "AttachStdin", 0, "AttachStdout", 0, "AttachStderr", 0, "Tty",
                         0, "OpenStdin", 0, "StdinOnce", 0, "Env", "Cmd", "Image", "", "Volumes", "Entrypoint",
                         "WorkingDir", "", "OnBuild", "Labels", "Shell");
}

/* The values of the stage's declared args (with a value), "NAME=value", as the environment they
 * form below the config's own Env (which wins). */
static char **stage_arg_env(Stage *s, bool skip_env_keys)
{
        char **v = NULL;
        const char *k;
        json_t *val;
        json_t *env = json_object_get(s->config, "Env");
        json_object_foreach(s->args, k, val)
        {
                if (!json_is_string(val))
                        continue;
                if (skip_env_keys) {
                        bool in_env = false;
                        size_t i;
                        json_t *e;
                        size_t kl = strlen(k);
                        json_array_foreach(env, i, e)
                        {
                                const char *es = json_string_value(e);
                                if (es && strncmp(es, k, kl) == 0 && es[kl] == '=')
                                        in_env = true;
                        }
                        if (in_env)
                                continue;
                }
                strv_push(&v, xasprintf("%s=%s", k, json_string_value(val)));
        }
        return v;
}

/* The expansion environment: declared args, then Env (later entries win). */
static char **expand_env(Stage *s)
{
        char **v = stage_arg_env(s, false);
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(s->config, "Env"), i, e) strv_extend(&v, json_string_value(e));
        return v;
}

static int expand(Build *b, Stage *s, const char *word, char **ret, BerthError **err)
{
        _cleanup_strv_free_ char **env = expand_env(s);
        return dockerfile_word(word, b->df->escape, env, ret, err);
}

static char **shell_of(Stage *s)
{
        json_t *sh = json_object_get(s->config, "Shell");
        char **v = NULL;
        size_t i;
        json_t *a;
        json_array_foreach(sh, i, a) strv_extend(&v, json_string_value(a));
        if (!v) {
                strv_extend(&v, "/bin/sh");
                strv_extend(&v, "-c");
        }
        return v;
}

static json_t *strv_json(char **v)
{
        json_t *a = json_array();
        for (size_t i = 0; v && v[i]; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

/* Go's %q of a []string: ["a" "b"]. */
static char *go_quote_list(json_t *arr)
{
        char *out = xstrdup("[");
        size_t i;
        json_t *a;
        json_array_foreach(arr, i, a)
        {
                _cleanup_free_ char *q = json_dumps(a, JSON_ENCODE_ANY);
                char *n = xasprintf("%s%s%s", out, i ? " " : "", q ? q : "\"\"");
                free(out);
                out = n;
        }
        char *n = xasprintf("%s]", out);
        free(out);
        return n;
}

/* Go's %v of a []string: [a b]. */
static char *go_plain_list(json_t *arr)
{
        _cleanup_free_ char *words = json_strv_join(arr, " ");
        return xasprintf("[%s]", words);
}

/* Cmd of a metadata step's container config: shell + "#(nop) " + the comment. */
static json_t *nop_cmd(Stage *s, const char *comment, bool joined)
{
        _cleanup_strv_free_ char **sh = shell_of(s);
        json_t *a = strv_json(sh);
        if (joined) {
                _cleanup_free_ char *c = xasprintf("#(nop) %s", comment);
                json_array_append_new(a, json_string(c));
        } else {
                json_array_append_new(a, json_string("#(nop) "));
                json_array_append_new(a, json_string(comment));
        }
        return a;
}

static bool json_emptyish(json_t *v)
{
        return !v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
               (json_is_object(v) && json_object_size(v) == 0) || (json_is_string(v) && !*json_string_value(v));
}

static bool cfg_equal(json_t *a, json_t *b)
{
        static const char *const keys[] = { "Cmd",        "Env",        "Labels", "ExposedPorts", "Entrypoint",
                                            "Volumes",    "User",       "WorkingDir", "OnBuild", "Shell",
                                            "StopSignal", "Healthcheck", "OpenStdin", "Tty",   NULL };
        for (size_t i = 0; keys[i]; i++) {
                json_t *x = json_object_get(a, keys[i]), *y = json_object_get(b, keys[i]);
                if (json_emptyish(x) && json_emptyish(y))
                        continue;
                if (json_is_false(x) && json_emptyish(y))
                        continue;
                if (json_is_false(y) && json_emptyish(x))
                        continue;
                if (!x || !y || !json_equal(x, y))
                        return false;
        }
        return true;
}

/* Is anc the image id or an ancestor (local parents) of id? */
static bool is_ancestor(Build *b, const char *anc, const char *id)
{
        _cleanup_free_ char *cur = xstrdup(id);
        for (int depth = 0; cur && depth < 1000; depth++) {
                if (streq(cur, anc))
                        return true;
                _cleanup_json_ json_t *j = NULL;
                if (image_inspect(b->e->images, cur, &j, NULL) < 0)
                        return false;
                const char *p = json_str(j, "Parent");
                free(cur);
                cur = p && *p ? xstrdup(p) : NULL;
        }
        return false;
}

/* The --cache-from images that carry no local parent chain (pulled, loaded): as dockerd, a step
 * matches when a source's history continues the current image's (same entries, same layers) with an
 * entry made by the step's command. The source itself is the hit at its last entry; before that an
 * image with the source's next layer is made above the current one. The build then keeps to that
 * source. */
static char *probe_sources(Build *b, Stage *s, json_t *ccfg)
{
        _cleanup_json_ json_t *pcfg = NULL;
        if (s->image_id && image_get_config(b->e->images, s->image_id, &pcfg, NULL) < 0)
                return NULL;
        json_t *phist = json_object_get(pcfg, "history");
        json_t *pdiffs = json_object_get(json_object_get(pcfg, "rootfs"), "diff_ids");
        size_t lh = json_array_size(phist), ld = json_array_size(pdiffs);
        _cleanup_free_ char *created_by = json_strv_join(json_object_get(ccfg, "Cmd"), " ");
        for (size_t k = 0; b->cachefrom_ids && b->cachefrom_ids[k]; k++) {
                const char *src = b->cachefrom_ids[k];
                _cleanup_json_ json_t *cfg = NULL;
                if (image_get_config(b->e->images, src, &cfg, NULL) < 0)
                        continue;
                json_t *hist = json_object_get(cfg, "history");
                json_t *diffs = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
                size_t nh = json_array_size(hist), nd = json_array_size(diffs);
                if (nh <= lh || ld > nd)
                        continue;
                bool valid = true;
                for (size_t i = 0; valid && i < lh; i++)
                        valid = json_equal(json_array_get(phist, i), json_array_get(hist, i));
                for (size_t i = 0; valid && i < ld; i++)
                        valid = json_equal(json_array_get(pdiffs, i), json_array_get(diffs, i));
                json_t *h = json_array_get(hist, lh);
                if (!valid || !streq(json_str(h, "created_by") ?: "", created_by))
                        continue;
                char *hit = NULL;
                if (nh - 1 == lh) {
                        if (s->image_id)
                                image_set_parent(b->e->images, src, s->image_id, NULL);
                        hit = xstrdup(src);
                } else {
                        /* the layer of history entry lh: the entries before it that have one */
                        size_t layer = 0;
                        for (size_t i = 0; i < lh; i++)
                                if (!json_is_true(json_object_get(json_array_get(hist, i), "empty_layer")))
                                        layer++;
                        json_t *nhist = phist ? json_deep_copy(phist) : json_array();
                        json_array_append(nhist, h);
                        json_t *ndiffs = pdiffs ? json_deep_copy(pdiffs) : json_array();
                        if (!json_is_true(json_object_get(h, "empty_layer")) && layer < nd)
                                json_array_append(ndiffs, json_array_get(diffs, layer));
                        _cleanup_json_ json_t *img = json_pack(
                                "{s:s,s:O,s:s,s:o,s:s,s:{s:s,s:o}}", "architecture", json_str(cfg, "architecture") ?: "amd64",
                                "config", ccfg, "created", json_str(h, "created") ?: "", "history", nhist, "os",
                                json_str(cfg, "os") ?: "linux", "rootfs", "type", "layers", "diff_ids", ndiffs);
                        if (json_str(cfg, "author"))
                                json_object_set(img, "author", json_object_get(cfg, "author"));
                        _cleanup_free_ char *bytes = json_dumps(img, JSON_COMPACT | JSON_SORT_KEYS);
                        if (image_create(b->e->images, bytes, strlen(bytes), s->image_id, &hit, NULL) < 0)
                                continue;
                }
                /* from here on the build keeps to this source */
                char *keep = xstrdup(src);
                strv_free(b->cachefrom_ids);
                b->cachefrom_ids = NULL;
                strv_push(&b->cachefrom_ids, keep);
                return hit;
        }
        return NULL;
}

/* A child of the current image whose container config matches: the cache. */
static char *probe_cache(Build *b, Stage *s, json_t *ccfg)
{
        if (b->nocache)
                return NULL;
        _cleanup_strv_free_ char **kids = NULL;
        if (image_children(b->e->images, s->image_id, &kids, NULL) < 0)
                return NULL;
        char *match = NULL;
        for (size_t i = 0; kids && kids[i]; i++) {
                _cleanup_json_ json_t *cfg = NULL;
                if (image_get_config(b->e->images, kids[i], &cfg, NULL) < 0)
                        continue;
                if (!cfg_equal(json_object_get(cfg, "container_config"), ccfg))
                        continue;
                if (b->cachefrom) {
                        /* with --cache-from, only images the given ones descend from */
                        bool ok = false;
                        for (size_t k = 0; !ok && b->cachefrom_ids && b->cachefrom_ids[k]; k++)
                                ok = is_ancestor(b, kids[i], b->cachefrom_ids[k]);
                        if (!ok)
                                continue;
                }
                free(match);
                match = xstrdup(kids[i]); /* the newest match wins */
        }
        if (!match && b->cachefrom)
                match = probe_sources(b, s, ccfg);
        return match;
}

static void set_image(Stage *s, const char *id)
{
        free(s->image_id);
        s->image_id = id ? xstrdup(id) : NULL;
}

/* The container config of a step: the stage's config with the step's Cmd. */
static json_t *step_ccfg(Stage *s, json_t *cmd)
{
        json_t *c = json_deep_copy(s->config);
        json_object_set_new(c, "Cmd", cmd);
        json_object_set_new(c, "Image", json_string(s->image_id ? s->image_id : ""));
        return c;
}

static json_t *create_body(Build *b, Stage *s, json_t *config)
{
        json_t *body = json_deep_copy(config);
        json_object_set_new(body, "Image", json_string(s->image_id));
        json_object_del(body, "Hostname");
        json_object_del(body, "Shell");
        /* a step's container is no service: no health probes while it runs, whatever the image says */
        json_object_set_new(body, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
        json_t *hc = json_object();
        if (b->networkmode && *b->networkmode)
                json_object_set_new(hc, "NetworkMode", json_string(b->networkmode));
        if (b->extrahosts)
                json_object_set_new(hc, "ExtraHosts", strv_json(b->extrahosts));
        if (b->shmsize)
                json_object_set_new(hc, "ShmSize", json_integer(b->shmsize));
        if (b->memory)
                json_object_set_new(hc, "Memory", json_integer(b->memory));
        if (b->memswap)
                json_object_set_new(hc, "MemorySwap", json_integer(b->memswap));
        if (b->cpushares)
                json_object_set_new(hc, "CpuShares", json_integer(b->cpushares));
        if (b->cpuperiod)
                json_object_set_new(hc, "CpuPeriod", json_integer(b->cpuperiod));
        if (b->cpuquota)
                json_object_set_new(hc, "CpuQuota", json_integer(b->cpuquota));
        if (b->cpusetcpus && *b->cpusetcpus)
                json_object_set_new(hc, "CpusetCpus", json_string(b->cpusetcpus));
        json_object_set_new(body, "HostConfig", hc);
        return body;
}

static int commit_step(Build *b, Stage *s, const char *cid, const char *upper, json_t *ccfg, BerthError **err)
{
        json_t *cfg = json_deep_copy(s->config);
        json_object_set_new(cfg, "Image", json_string(s->image_id ? s->image_id : ""));
        _cleanup_json_ json_t *cfgp = cfg;
        ImageCommitOptions o = {
                .config = cfg,
                .config_exact = true,
                .container_config = ccfg,
                .container_id = cid,
                .author = s->author,
        };
        _cleanup_free_ char *id = NULL;
        int r = image_commit(b->e->images, s->image_id, upper, &o, &id, err);
        if (r < 0)
                return r;
        set_image(s, id);
        return 0;
}

/* A metadata step: the cache, or a container created (not run) and committed. upper: a layer
 * written by berth (WORKDIR), or NULL. */
static int meta_step(Build *b, Stage *s, const char *comment, const char *upper, BerthError **err)
{
        /* dockerd writes WORKDIR's comment as one word after the marker (like COPY's), the others as two */
        _cleanup_json_ json_t *ccfg = step_ccfg(s, nop_cmd(s, comment, startswith(comment, "WORKDIR ")));
        _cleanup_free_ char *hit = probe_cache(b, s, ccfg);
        if (hit) {
                say(b, " ---> Using cache\n");
                set_image(s, hit);
                say(b, " ---> %s\n", short_id(hit));
                return 0;
        }
        int r;
        _cleanup_free_ char *cid = NULL;
        if (s->image_id) {
                _cleanup_json_ json_t *body = create_body(b, s, ccfg);
                r = container_create(b->e, NULL, body, &cid, NULL, err);
                if (r < 0)
                        return r;
                say(b, " ---> Running in %s\n", short_id(cid));
        }
        _cleanup_free_ char *none = xasprintf("%s/none", b->dir);
        json_object_set_new(ccfg, "Hostname", json_string(cid ? short_id(cid) : ""));
        r = commit_step(b, s, cid, upper ? upper : none, ccfg, err);
        if (cid && (b->rm || r < 0)) {
                container_remove(b->e, cid, true, true, NULL); /* with its anonymous volumes, as dockerd */
                say(b, "Removing intermediate container %s\n", short_id(cid));
        }
        if (r < 0)
                return r;
        say(b, " ---> %s\n", short_id(s->image_id));
        return 0;
}

/* ---- RUN ---- */

static bool client_gone(void *p)
{
        Build *b = p;
        return b->gone && b->gone(b->cls);
}


static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

typedef struct LogCtx {
        Build *b;
} LogCtx;

static int run_log(void *arg, int stream, const char *data, size_t len)
{
        LogCtx *l = arg;
        if (l->b->quiet)
                return 0;
        _cleanup_free_ char *s = stream == 2 ? xasprintf("\033[91m%.*s\033[0m", (int) len, data)
                                             : xstrndup(data, len);
        _cleanup_json_ json_t *j = json_pack("{s:s%}", "stream", s, strlen(s));
        l->b->out(l->b->cls, j);
        return 0;
}

static int run_step(Build *b, Stage *s, DfInstr *in, int *ret_code, BerthError **err)
{
        _cleanup_strv_free_ char **cmd = NULL;
        if (in->json)
                cmd = strv_copy(in->args);
        else {
                cmd = shell_of(s);
                strv_extend(&cmd, in->args[0]);
        }
        /* build args in use: in the environment of the run and, declared ones, in the cache key */
        _cleanup_strv_free_ char **argenv = stage_arg_env(s, true);
        _cleanup_strv_free_ char **keyenv = NULL;
        for (size_t i = 0; argenv && argenv[i]; i++)
                strv_extend(&keyenv, argenv[i]);
        const char *k;
        json_t *v;
        json_object_foreach(b->buildargs, k, v) if (is_builtin_arg(k) && json_is_string(v) && !json_object_get(s->args, k))
                strv_push(&argenv, xasprintf("%s=%s", k, json_string_value(v)));
        json_t *save = json_array();
        if (argenv) {
                size_t n = strv_length(keyenv);
                if (n)
                        qsort(keyenv, n, sizeof(char *), cmp_str);
                json_array_append_new(save, json_sprintf("|%zu", n));
                for (size_t i = 0; keyenv && keyenv[i]; i++)
                        json_array_append_new(save, json_string(keyenv[i]));
        }
        for (size_t i = 0; cmd[i]; i++)
                json_array_append_new(save, json_string(cmd[i]));
        _cleanup_json_ json_t *ccfg = step_ccfg(s, save);
        _cleanup_free_ char *hit = probe_cache(b, s, ccfg);
        if (hit) {
                say(b, " ---> Using cache\n");
                set_image(s, hit);
                say(b, " ---> %s\n", short_id(hit));
                return 0;
        }
        if (!s->image_id)
                return berr_set(err, EINVAL, "RUN needs a base image: this stage is FROM scratch and has no /bin/sh");
        /* the container: the stage's config with the command, no entrypoint, and the args in Env */
        _cleanup_json_ json_t *rcfg = json_deep_copy(s->config);
        json_object_set_new(rcfg, "Cmd", strv_json(cmd));
        json_object_set_new(rcfg, "Entrypoint", json_array());
        json_t *env = json_object_get(rcfg, "Env");
        if (!json_is_array(env)) {
                env = json_array();
                json_object_set_new(rcfg, "Env", env);
        }
        for (size_t i = 0; argenv && argenv[i]; i++)
                json_array_append_new(env, json_string(argenv[i]));
        _cleanup_json_ json_t *body = create_body(b, s, rcfg);
        _cleanup_free_ char *cid = NULL;
        int r = container_create(b->e, NULL, body, &cid, NULL, err);
        if (r < 0)
                return r;
        say(b, " ---> Running in %s\n", short_id(cid));
        ContainerWaiter w = { 0 };
        r = container_wait_prepare(b->e, cid, "next-exit", &w, err);
        if (r == 0) {
                r = container_start(b->e, cid, err);
                if (r < 0) {
                        container_unref(w.c);
                        w.c = NULL;
                }
        }
        int code = 0;
        bool cancelled = false;
        if (r == 0) {
                _cleanup_container_ Container *c = NULL;
                if (container_get(b->e, cid, &c, NULL) == 0) {
                        LogOptions lo = { .stdout_ = true, .stderr_ = true, .follow = true, .tail = -1 };
                        LogCtx lc = { .b = b };
                        if (container_logs(b->e, c, &lo, run_log, &lc, client_gone, b) == -EPIPE) {
                                /* the client has gone: the step stops, its container goes */
                                container_kill(b->e, cid, "KILL", NULL);
                                cancelled = true;
                        }
                }
                _cleanup_free_ char *cerr = NULL;
                container_wait_finish(b->e, &w, NULL, NULL, &code, &cerr);
                if (cancelled) {
                        container_remove(b->e, cid, true, true, NULL);
                        return berr_set(err, ECANCELED, "the build was cancelled: the client has gone");
                }
                if (cerr && *cerr)
                        r = berr_set(err, EIO, "%s", cerr);
        }
        if (r == 0 && code != 0) {
                _cleanup_free_ char *joined = NULL;
                for (size_t i = 0; cmd[i]; i++) {
                        char *n = xasprintf("%s%s%s", joined ? joined : "", i ? " " : "", cmd[i]);
                        free(joined);
                        joined = n;
                }
                *ret_code = code;
                r = berr_set(err, EIO, "The command '%s' returned a non-zero code: %d", joined, code);
        }
        if (r < 0) {
                if (b->forcerm) {
                        container_remove(b->e, cid, true, true, NULL); /* with its anonymous volumes, as dockerd */
                        say(b, "Removing intermediate container %s\n", short_id(cid));
                }
                return r;
        }
        _cleanup_free_ char *cdir = container_dir(b->e, cid);
        _cleanup_free_ char *upper = xasprintf("%s/upper", cdir);
        json_object_set_new(ccfg, "Hostname", json_string(short_id(cid)));
        r = commit_step(b, s, cid, upper, ccfg, err);
        if (b->rm) {
                container_remove(b->e, cid, true, true, NULL); /* with its anonymous volumes, as dockerd */
                say(b, "Removing intermediate container %s\n", short_id(cid));
        }
        if (r < 0)
                return r;
        say(b, " ---> %s\n", short_id(s->image_id));
        return 0;
}

/* ---- COPY, ADD ---- */

static int parse_chown(FsRoot *img, const char *spec, unsigned *uid, unsigned *gid, BerthError **err)
{
        _cleanup_free_ char *u = xstrdup(spec);
        char *g = strchr(u, ':');
        if (g)
                *g++ = 0;
        char *end;
        unsigned long v = strtoul(u, &end, 10);
        if (*u && !*end)
                *uid = (unsigned) v;
        else if (!img || fsroot_lookup_id(img, "/etc/passwd", u, uid) < 0)
                return berr_set(err, EINVAL, "unable to convert uid/gid chown string to host mapping: "
                                             "can't find uid for user %s: no such user: %s", u, u);
        if (!g) {
                *gid = *uid;
                return 0;
        }
        v = strtoul(g, &end, 10);
        if (*g && !*end)
                *gid = (unsigned) v;
        else if (!img || fsroot_lookup_id(img, "/etc/group", g, gid) < 0)
                return berr_set(err, EINVAL, "unable to convert uid/gid chown string to host mapping: "
                                             "can't find gid for group %s: no such group: %s", g, g);
        return 0;
}

static int image_root(Build *b, const char *id, FsRoot *ret, BerthError **err)
{
        if (!id) {
                *ret = (FsRoot){ .fds = xcalloc(1, sizeof(int)), .n = 0 };
                return 0;
        }
        _cleanup_strv_free_ char **dirs = NULL;
        int r = image_layer_dirs(b->e->images, id, &dirs, err);
        if (r < 0)
                return r;
        return fsroot_open_dirs(dirs, ret, err);
}

static int resolve_image_or_pull(Build *b, const char *name, char **ret, BerthError **err);

static int copy_step(Build *b, Stage *s, DfInstr *in, Stage *stages, size_t nstages, BerthError **err)
{
        bool add = streq(in->cmd, "add");
        const char *CMD = add ? "ADD" : "COPY";
        static const char *const copy_flags[] = { "from", "chown", "chmod", NULL };
        static const char *const add_flags[] = { "chown", "chmod", NULL };
        int r = dockerfile_check_flags(in, add ? add_flags : copy_flags, err);
        if (r < 0)
                return r;
        size_t n = strv_length(in->args);
        if (n < 2)
                return berr_set(err, EINVAL, "%s requires at least two arguments, but only one was provided. "
                                             "Destination could not be determined.", CMD);
        _cleanup_strv_free_ char **env = expand_env(s);
        _cleanup_strv_free_ char **words = NULL;
        for (size_t i = 0; i < n; i++) {
                char *w = NULL;
                r = dockerfile_word(in->args[i], b->df->escape, env, &w, err);
                if (r < 0)
                        return r;
                strv_push(&words, w);
        }
        const char *dest_raw = words[n - 1];
        _cleanup_free_ char *dest = NULL;
        if (dest_raw[0] == '/')
                dest = xstrdup(dest_raw);
        else {
                const char *wd = json_str(s->config, "WorkingDir");
                dest = xasprintf("%s/%s", wd && *wd ? wd : "", dest_raw);
                if (streq(dest_raw, ".") || endswith(dest_raw, "/.")) {
                        char *d2 = xasprintf("%s/", dest);
                        free(dest);
                        dest = d2;
                }
        }
        free(words[n - 1]);
        words[n - 1] = NULL;

        /* the source root: the context, or --from's stage or image */
        FsRoot from = { 0 };
        FsRoot *src = &b->ctxroot;
        const char *from_flag = dockerfile_flag(in, "from", NULL);
        _cleanup_free_ char *from_id = NULL;
        if (from_flag) {
                if (!*from_flag)
                        return berr_set(err, EINVAL, "invalid from flag value: empty");
                char *e2 = NULL;
                for (size_t i = 0; i < nstages; i++)
                        if (stages[i].name && strcasecmp(stages[i].name, from_flag) == 0)
                                e2 = stages[i].image_id ? xstrdup(stages[i].image_id) : xstrdup("");
                char *endp;
                unsigned long idx = strtoul(from_flag, &endp, 10);
                if (!e2 && !*endp && *from_flag) {
                        if (idx >= nstages)
                                return berr_set(err, EINVAL, "invalid from flag value %s: refers to current build stage", from_flag);
                        e2 = stages[idx].image_id ? xstrdup(stages[idx].image_id) : xstrdup("");
                }
                if (!e2) {
                        r = resolve_image_or_pull(b, from_flag, &e2, err);
                        if (r < 0)
                                return berr_prefix(err, "invalid from flag value %s", from_flag);
                }
                from_id = e2;
                r = image_root(b, *from_id ? from_id : NULL, &from, err);
                if (r < 0)
                        return r;
                src = &from;
        }
        FsRoot img = { 0 };
        r = image_root(b, s->image_id, &img, err);
        if (r < 0) {
                fsroot_close(&from);
                return r;
        }
        CopySpec c = { .src = src, .sources = words, .dest = dest, .image = &img, .add = add, .cmd = CMD };
        const char *chown = dockerfile_flag(in, "chown", NULL);
        _cleanup_free_ char *chown_x = NULL;
        if (r == 0 && chown && *chown) {
                r = dockerfile_word(chown, b->df->escape, env, &chown_x, err);
                if (r == 0)
                        r = parse_chown(&img, chown_x, &c.uid, &c.gid, err);
                c.has_chown = true;
        }
        const char *chmod = dockerfile_flag(in, "chmod", NULL);
        if (r == 0 && chmod && *chmod) {
                char *endp;
                unsigned long m = strtoul(chmod, &endp, 8);
                if (*endp || m > 07777)
                        r = berr_set(err, EINVAL, "invalid chmod parameter: %s", chmod);
                c.has_chmod = true;
                c.chmod = (mode_t) m;
        }
        _cleanup_free_ char *sum = NULL;
        if (r == 0)
                r = build_copy_checksum(&c, &sum, err);
        if (r == 0) {
                /* dockerd writes "--chown=1:2file:<sum>", without a space: kept, so histories compare */
                _cleanup_free_ char *flags = xasprintf("%s%s%s%s%s%s", chown ? "--chown=" : "",
                                                       chown ? (chown_x ? chown_x : chown) : "",
                                                       chown && chmod ? " " : "", chmod ? "--chmod=" : "",
                                                       chmod ? chmod : "", chmod ? " " : "");
                _cleanup_free_ char *comment = xasprintf("%s %s%s in %s ", CMD, flags, sum, dest);
                _cleanup_json_ json_t *ccfg = step_ccfg(s, nop_cmd(s, comment, true));
                _cleanup_free_ char *hit = probe_cache(b, s, ccfg);
                if (hit) {
                        say(b, " ---> Using cache\n");
                        set_image(s, hit);
                } else {
                        _cleanup_free_ char *upper = xasprintf("%s/layer-%zu", b->dir, b->step);
                        mkdir(upper, 0755);
                        r = build_copy_run(&c, upper, err);
                        if (r == 0)
                                r = commit_step(b, s, NULL, upper, ccfg, err);
                        rm_rf(upper);
                }
                if (r == 0)
                        say(b, " ---> %s\n", short_id(s->image_id));
        }
        fsroot_close(&img);
        fsroot_close(&from);
        return r;
}

/* ---- FROM ---- */

/* X-Registry-Config's entry for the reference's registry, as an X-Registry-Auth value. */
static void auth_for(Build *b, const char *name, RegistryAuth *ret)
{
        *ret = (RegistryAuth){ 0 };
        if (!json_is_object(b->registry_config))
                return;
        _cleanup_image_ref_ ImageRef *ref = NULL;
        if (image_ref_parse(name, &ref, NULL) < 0)
                return;
        const char *k;
        json_t *v;
        json_object_foreach(b->registry_config, k, v)
        {
                const char *host = k;
                if (startswith(host, "https://"))
                        host += 8;
                else if (startswith(host, "http://"))
                        host += 7;
                size_t hl = strcspn(host, "/");
                bool hub = streq(ref->domain, "docker.io") && (strncmp(host, "index.docker.io", hl) == 0 ||
                                                                strncmp(host, "registry-1.docker.io", hl) == 0 ||
                                                                strncmp(host, "docker.io", hl) == 0);
                if (!hub && !(strlen(ref->domain) == hl && strncmp(host, ref->domain, hl) == 0))
                        continue;
                ret->username = json_str(v, "username") ? xstrdup(json_str(v, "username")) : NULL;
                ret->password = json_str(v, "password") ? xstrdup(json_str(v, "password")) : NULL;
                ret->identitytoken = json_str(v, "identitytoken") ? xstrdup(json_str(v, "identitytoken")) : NULL;
                ret->serveraddress = xstrdup(k);
                return;
        }
}

static void pull_progress(void *cls, json_t *msg)
{
        Build *b = cls;
        if (!b->quiet)
                b->out(b->cls, msg);
}

static int resolve_image_or_pull(Build *b, const char *name, char **ret, BerthError **err)
{
        if (!b->pull && image_resolve(b->e->images, name, ret, NULL) == 0)
                return 0;
        RegistryAuth auth;
        auth_for(b, name, &auth);
        RegistryPull *p = NULL;
        int r = registry_pull_prepare(b->e->images, name, &auth, &p, err);
        registry_auth_clear(&auth);
        if (r == 0)
                r = registry_pull_run(b->e->images, p, pull_progress, b, err);
        registry_pull_free(p);
        if (r < 0) {
                /* --pull with the image here already: dockerd fails too, but say what was tried */
                return r;
        }
        return image_resolve(b->e->images, name, ret, err);
}

/* ---- HEALTHCHECK ---- */

static int healthcheck_step(Build *b, Stage *s, DfInstr *in, char **ret_comment, BerthError **err)
{
        static const char *const allowed[] = { "interval", "timeout", "start-period", "retries", NULL };
        int r = dockerfile_check_flags(in, allowed, err);
        if (r < 0)
                return r;
        const char *typ = in->args[0];
        json_t *hc = json_object();
        if (strcasecmp(typ, "NONE") == 0) {
                if (strv_length(in->args) > 1 || in->flags) {
                        json_decref(hc);
                        return berr_set(err, EINVAL, "HEALTHCHECK NONE takes no arguments");
                }
                json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
        } else if (strcasecmp(typ, "CMD") == 0) {
                if (strv_length(in->args) < 2) {
                        json_decref(hc);
                        return berr_set(err, EINVAL, "Missing command after HEALTHCHECK CMD");
                }
                json_t *test = json_array();
                if (in->json) {
                        json_array_append_new(test, json_string("CMD"));
                        for (size_t i = 1; in->args[i]; i++)
                                json_array_append_new(test, json_string(in->args[i]));
                } else {
                        json_array_append_new(test, json_string("CMD-SHELL"));
                        json_array_append_new(test, json_string(in->args[1]));
                }
                json_object_set_new(hc, "Test", test);
                static const char *const durs[][2] = { { "interval", "Interval" }, { "timeout", "Timeout" },
                                                       { "start-period", "StartPeriod" } };
                for (size_t i = 0; i < 3; i++) {
                        const char *v = dockerfile_flag(in, durs[i][0], NULL);
                        int64_t ns = 0;
                        if (v && (parse_go_duration(v, &ns) < 0 || ns < 0)) {
                                json_decref(hc);
                                return berr_set(err, EINVAL, "time: invalid duration \"%s\"", v);
                        }
                        if (v && ns != 0 && ns < 1000000) {
                                json_decref(hc);
                                return berr_set(err, EINVAL, "Interval \"%s\" cannot be less than 1ms", durs[i][0]);
                        }
                        if (ns)
                                json_object_set_new(hc, durs[i][1], json_integer(ns));
                }
                const char *rv = dockerfile_flag(in, "retries", NULL);
                if (rv) {
                        char *end;
                        long n = strtol(rv, &end, 10);
                        if (*end || !*rv) {
                                json_decref(hc);
                                return berr_set(err, EINVAL, "strconv.ParseInt: parsing \"%s\": invalid syntax", rv);
                        }
                        if (n < 0) {
                                json_decref(hc);
                                return berr_set(err, EINVAL, "--retries cannot be negative (%ld)", n);
                        }
                        if (n)
                                json_object_set_new(hc, "Retries", json_integer(n));
                }
        } else {
                json_decref(hc);
                return berr_set(err, EINVAL, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", typ);
        }
        _cleanup_free_ char *test = go_quote_list(json_object_get(hc, "Test"));
        _cleanup_free_ char *iv = format_go_duration(json_integer_value(json_object_get(hc, "Interval")));
        _cleanup_free_ char *to = format_go_duration(json_integer_value(json_object_get(hc, "Timeout")));
        _cleanup_free_ char *sp = format_go_duration(json_integer_value(json_object_get(hc, "StartPeriod")));
        *ret_comment = xasprintf("HEALTHCHECK &{%s \"%s\" \"%s\" \"%s\" '\\x%02llx'}", test, iv, to, sp,
                                 (long long) json_integer_value(json_object_get(hc, "Retries")));
        json_object_set_new(s->config, "Healthcheck", hc);
        return 0;
}

/* ---- one instruction ---- */

static void env_set(json_t *cfg, const char *k, const char *v)
{
        json_t *env = json_object_get(cfg, "Env");
        if (!json_is_array(env)) {
                env = json_array();
                json_object_set_new(cfg, "Env", env);
        }
        _cleanup_free_ char *kv = xasprintf("%s=%s", k, v);
        size_t kl = strlen(k), i;
        json_t *e;
        json_array_foreach(env, i, e)
        {
                const char *es = json_string_value(e);
                if (es && strncmp(es, k, kl) == 0 && es[kl] == '=') {
                        json_array_set_new(env, i, json_string(kv));
                        return;
                }
        }
        json_array_append_new(env, json_string(kv));
}

static void obj_set_key(json_t *cfg, const char *field, const char *k, json_t *v)
{
        json_t *o = json_object_get(cfg, field);
        if (!json_is_object(o)) {
                o = json_object();
                json_object_set_new(cfg, field, o);
        }
        json_object_set_new(o, k, v);
}

static int arg_decl(Build *b, Stage *s, DfInstr *in, char **ret_comment, BerthError **err)
{
        _cleanup_free_ char *comment = xstrdup("ARG");
        for (size_t i = 0; in->args && in->args[i]; i++) {
                const char *w = in->args[i];
                const char *eq = strchr(w, '=');
                _cleanup_free_ char *name = eq ? xstrndup(w, (size_t) (eq - w)) : xstrdup(w);
                _cleanup_free_ char *def = NULL;
                if (eq) {
                        int r = expand(b, s, eq + 1, &def, err);
                        if (r < 0)
                                return r;
                }
                json_t *given = json_object_get(b->buildargs, name);
                json_t *val = json_is_string(given) ? json_incref(given) : def ? json_string(def) : json_null();
                json_object_set_new(s->args, name, val);
                if (given && !strv_contains(b->used_args, name))
                        strv_extend(&b->used_args, name);
                char *n = def ? xasprintf("%s %s=%s", comment, name, def) : xasprintf("%s %s", comment, name);
                free(comment);
                comment = n;
        }
        *ret_comment = TAKE_PTR(comment);
        return 0;
}

static int dispatch(Build *b, Stage *s, DfInstr *in, Stage *stages, size_t nstages, int *ret_code, BerthError **err);

static int run_triggers(Build *b, Stage *s, Stage *stages, size_t nstages, int *ret_code, BerthError **err)
{
        json_t *ob = json_object_get(s->config, "OnBuild");
        size_t n = json_array_size(ob);
        if (!n)
                return 0;
        _cleanup_json_ json_t *triggers = json_deep_copy(ob);
        json_object_set_new(s->config, "OnBuild", json_null());
        say(b, "# Executing %zu build trigger%s\n", n, n == 1 ? "" : "s");
        size_t i;
        json_t *t;
        json_array_foreach(triggers, i, t)
        {
                DfInstr in = { 0 };
                int r = dockerfile_parse_line(json_string_value(t) ?: "", b->df->escape, &in, err);
                if (r == 0)
                        r = check_instr(&in, err);
                if (r == 0)
                        r = dispatch(b, s, &in, stages, nstages, ret_code, err);
                dockerfile_instr_clear(&in);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int from_step(Build *b, Stage *s, DfInstr *in, json_t *meta, Stage *stages, size_t nstages, int *ret_code,
                     BerthError **err)
{
        static const char *const allowed[] = { "platform", NULL };
        int r = dockerfile_check_flags(in, allowed, err);
        if (r < 0)
                return r;
        const char *plat = dockerfile_flag(in, "platform", NULL);
        /* FROM sees only the args declared before the first FROM */
        char **env = NULL;
        const char *k;
        json_t *v;
        json_object_foreach(meta, k, v) if (json_is_string(v)) strv_push(&env, xasprintf("%s=%s", k, json_string_value(v)));
        _cleanup_strv_free_ char **envp = env;
        _cleanup_free_ char *base = NULL;
        r = dockerfile_word(in->args[0], b->df->escape, env, &base, err);
        if (r < 0)
                return r;
        if (plat && *plat) {
                _cleanup_free_ char *px = NULL;
                r = dockerfile_word(plat, b->df->escape, env, &px, err);
                if (r < 0)
                        return r;
                if (*px && !streq(px, "linux/amd64") && !streq(px, "linux"))
                        return berr_set(err, EINVAL, "FROM --platform=%s: berth builds only linux/amd64 images", px);
        }
        if (!*base)
                return berr_set(err, EINVAL, "base name (%s) should not be blank", in->args[0]);
        s->name = from_stage_name(in);
        s->args = json_object();
        const char *found = NULL;
        for (size_t i = 0; i < nstages; i++)
                if (stages[i].name && strcasecmp(stages[i].name, base) == 0)
                        found = stages[i].image_id ? stages[i].image_id : "";
        _cleanup_free_ char *id = NULL;
        if (found)
                id = *found ? xstrdup(found) : NULL;
        else if (strcasecmp(base, "scratch") != 0) {
                r = resolve_image_or_pull(b, base, &id, err);
                if (r < 0)
                        return r;
        }
        if (id) {
                _cleanup_json_ json_t *cfg = NULL;
                r = image_get_config(b->e->images, id, &cfg, err);
                if (r < 0)
                        return r;
                json_t *c = json_object_get(cfg, "config");
                s->config = json_is_object(c) ? json_deep_copy(c) : empty_config();
                set_image(s, id);
                say(b, " ---> %s\n", short_id(id));
        } else {
                s->config = empty_config();
                json_object_set_new(s->config, "Env",
                                    json_pack("[s]", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
        }
        return run_triggers(b, s, stages, nstages, ret_code, err);
}

static int dispatch(Build *b, Stage *s, DfInstr *in, Stage *stages, size_t nstages, int *ret_code, BerthError **err)
{
        const char *c = in->cmd;
        int r = 0;
        if (!streq(c, "copy") && !streq(c, "add") && !streq(c, "healthcheck") && !streq(c, "from") && in->flags)
                return dockerfile_check_flags(in, NULL, err);
        if (streq(c, "run"))
                return run_step(b, s, in, ret_code, err);
        if (streq(c, "copy") || streq(c, "add"))
                return copy_step(b, s, in, stages, nstages, err);
        if (streq(c, "from"))
                return berr_set(err, EINVAL, "FROM is not allowed here");
        _cleanup_free_ char *comment = NULL;
        _cleanup_free_ char *workdir_layer = NULL;
        if (streq(c, "env") || streq(c, "label")) {
                bool env = streq(c, "env");
                comment = xstrdup(env ? "ENV" : "LABEL");
                /* every pair sees the environment from before the instruction, as in dockerd */
                _cleanup_strv_free_ char **xenv = expand_env(s);
                for (size_t i = 0; in->args[i] && in->args[i + 1]; i += 2) {
                        _cleanup_free_ char *k = NULL, *v = NULL;
                        r = dockerfile_word(in->args[i], b->df->escape, xenv, &k, err);
                        if (r == 0)
                                r = dockerfile_word(in->args[i + 1], b->df->escape, xenv, &v, err);
                        if (r < 0)
                                return r;
                        if (!*k)
                                return berr_set(err, EINVAL, "%s names can not be blank", env ? "ENV" : "LABEL");
                        if (env)
                                env_set(s->config, k, v);
                        else
                                obj_set_key(s->config, "Labels", k, json_string(v));
                        char *n = xasprintf("%s %s=%s", comment, k, v);
                        free(comment);
                        comment = n;
                }
        } else if (streq(c, "arg")) {
                r = arg_decl(b, s, in, &comment, err);
        } else if (streq(c, "cmd") || streq(c, "entrypoint")) {
                bool cmd = streq(c, "cmd");
                json_t *val;
                if (in->json)
                        val = strv_json(in->args);
                else {
                        _cleanup_strv_free_ char **sh = shell_of(s);
                        strv_extend(&sh, in->args[0]);
                        val = strv_json(sh);
                }
                _cleanup_free_ char *q = go_quote_list(val);
                comment = xasprintf("%s %s", cmd ? "CMD" : "ENTRYPOINT", q);
                json_object_set_new(s->config, cmd ? "Cmd" : "Entrypoint", val);
                if (cmd)
                        s->cmd_set = true;
                else if (!s->cmd_set)
                        json_object_set_new(s->config, "Cmd", json_null());
        } else if (streq(c, "shell")) {
                json_t *val = strv_json(in->args);
                _cleanup_free_ char *q = go_plain_list(val);
                comment = xasprintf("SHELL %s", q);
                json_object_set_new(s->config, "Shell", val);
        } else if (streq(c, "workdir")) {
                _cleanup_free_ char *w = NULL;
                r = expand(b, s, in->args[0], &w, err);
                if (r < 0)
                        return r;
                const char *cur = json_str(s->config, "WorkingDir");
                _cleanup_free_ char *joined = w[0] == '/' ? xstrdup(w) : xasprintf("/%s/%s", cur ? cur : "", w);
                _cleanup_free_ char *clean = path_clean(joined);
                json_object_set_new(s->config, "WorkingDir", json_string(clean));
                comment = xasprintf("WORKDIR %s", clean);
                /* the directory is created in the image, as dockerd does */
                FsRoot img = { 0 };
                r = image_root(b, s->image_id, &img, err);
                if (r < 0)
                        return r;
                workdir_layer = xasprintf("%s/layer-%zu", b->dir, b->step);
                mkdir(workdir_layer, 0755);
                r = build_mkdir_layer(&img, workdir_layer, clean, err);
                fsroot_close(&img);
                if (r < 0)
                        return r;
        } else if (streq(c, "user") || streq(c, "stopsignal") || streq(c, "maintainer")) {
                _cleanup_free_ char *v = NULL;
                if (streq(c, "maintainer"))
                        v = xstrdup(in->args[0]);
                else {
                        r = expand(b, s, in->args[0], &v, err);
                        if (r < 0)
                                return r;
                }
                if (streq(c, "user")) {
                        json_object_set_new(s->config, "User", json_string(v));
                        comment = xasprintf("USER %s", v);
                } else if (streq(c, "stopsignal")) {
                        if (signal_from_string(v) <= 0)
                                return berr_set(err, EINVAL, "Invalid signal: %s", v);
                        json_object_set_new(s->config, "StopSignal", json_string(v));
                        comment = xasprintf("STOPSIGNAL %s", v);
                } else {
                        free(s->author);
                        s->author = xstrdup(v);
                        comment = xasprintf("MAINTAINER %s", v);
                }
        } else if (streq(c, "expose")) {
                comment = xstrdup("EXPOSE");
                for (size_t i = 0; in->args[i]; i++) {
                        _cleanup_free_ char *p = NULL;
                        r = expand(b, s, in->args[i], &p, err);
                        if (r < 0)
                                return r;
                        char *slash = strchr(p, '/');
                        const char *proto = slash ? slash + 1 : "tcp";
                        _cleanup_free_ char *port = slash ? xstrndup(p, (size_t) (slash - p)) : xstrdup(p);
                        char *end;
                        long lo = strtol(port, &end, 10), hi = lo;
                        if (*end == '-')
                                hi = strtol(end + 1, &end, 10);
                        if (*end || !*port || lo < 0 || hi > 65535 || hi < lo ||
                            (!streq(proto, "tcp") && !streq(proto, "udp") && !streq(proto, "sctp")))
                                return berr_set(err, EINVAL, "Invalid containerPort: %s", p);
                        for (long k = lo; k <= hi; k++) {
                                _cleanup_free_ char *key = xasprintf("%ld/%s", k, proto);
                                obj_set_key(s->config, "ExposedPorts", key, json_object());
                        }
                        char *n = xasprintf("%s %s", comment, p);
                        free(comment);
                        comment = n;
                }
        } else if (streq(c, "volume")) {
                json_t *list = json_array();
                for (size_t i = 0; in->args[i]; i++) {
                        _cleanup_free_ char *v = NULL;
                        r = expand(b, s, in->args[i], &v, err);
                        if (r < 0) {
                                json_decref(list);
                                return r;
                        }
                        if (!*v) {
                                json_decref(list);
                                return berr_set(err, EINVAL, "VOLUME specified can not be an empty string");
                        }
                        obj_set_key(s->config, "Volumes", v, json_object());
                        json_array_append_new(list, json_string(v));
                }
                _cleanup_free_ char *q = go_plain_list(list);
                json_decref(list);
                comment = xasprintf("VOLUME %s", q);
        } else if (streq(c, "onbuild")) {
                const char *t = in->args[0];
                json_t *ob = json_object_get(s->config, "OnBuild");
                if (!json_is_array(ob)) {
                        ob = json_array();
                        json_object_set_new(s->config, "OnBuild", ob);
                }
                json_array_append_new(ob, json_string(t));
                comment = xasprintf("ONBUILD %s", t);
        } else if (streq(c, "healthcheck")) {
                r = healthcheck_step(b, s, in, &comment, err);
        } else
                return berr_set(err, EINVAL, "unknown instruction: %s", c);
        if (r < 0)
                return r;
        return meta_step(b, s, comment, workdir_layer, err);
}

/* ---- the build ---- */

static int build_run_inner(Build *b, BuildOutFn out, BuildGoneFn gone, void *cls, char **ret_id, int *ret_code,
                           BerthError **err)
{
        b->out = out;
        b->gone = gone;
        b->cls = cls;
        *ret_code = 0;
        for (size_t i = 0; b->df->warnings && b->df->warnings[i]; i++)
                say(b, "%s\n", b->df->warnings[i]);
        json_t *meta = json_object(); /* ARGs before the first FROM */
        _cleanup_json_ json_t *metap = meta;
        Stage *stages = NULL;
        size_t nstages = 0;
        int r = 0;
        for (size_t i = 0; i < b->first_stage_end && r == 0; i++) {
                DfInstr *in = &b->df->v[i];
                b->step = i + 1;
                if (client_gone(b)) {
                        r = berr_set(err, ECANCELED, "the build was cancelled: the client has gone");
                        break;
                }
                say(b, "Step %zu/%zu : %s\n", i + 1, b->total_steps, in->original);
                if (streq(in->cmd, "from")) {
                        Stage *ns = xrealloc(stages, (nstages + 1) * sizeof(Stage));
                        stages = ns;
                        stages[nstages] = (Stage){ 0 };
                        nstages++;
                        r = from_step(b, &stages[nstages - 1], in, meta, stages, nstages - 1, ret_code, err);
                        continue;
                }
                if (nstages == 0) {
                        /* a meta ARG: defaults expanded with the ones before it */
                        for (size_t k = 0; in->args && in->args[k]; k++) {
                                const char *w = in->args[k];
                                const char *eq = strchr(w, '=');
                                _cleanup_free_ char *name = eq ? xstrndup(w, (size_t) (eq - w)) : xstrdup(w);
                                _cleanup_free_ char *def = NULL;
                                if (eq) {
                                        char **env = NULL;
                                        const char *k2;
                                        json_t *v2;
                                        json_object_foreach(meta, k2, v2) if (json_is_string(v2))
                                                strv_push(&env, xasprintf("%s=%s", k2, json_string_value(v2)));
                                        r = dockerfile_word(eq + 1, b->df->escape, env, &def, err);
                                        strv_free(env);
                                        if (r < 0)
                                                break;
                                }
                                json_t *given = json_object_get(b->buildargs, name);
                                json_object_set_new(meta, name, json_is_string(given) ? json_incref(given)
                                                                : def ? json_string(def) : json_null());
                        }
                        continue;
                }
                Stage *s = &stages[nstages - 1];
                if (streq(in->cmd, "arg")) {
                        /* an ARG without a value in a stage takes the meta ARG's */
                        for (size_t k = 0; in->args && in->args[k]; k++)
                                if (!strchr(in->args[k], '=') && json_is_string(json_object_get(meta, in->args[k])) &&
                                    !json_object_get(b->buildargs, in->args[k])) {
                                        _cleanup_free_ char *w = xasprintf("%s=%s", in->args[k],
                                                                           json_string_value(json_object_get(meta, in->args[k])));
                                        free(in->args[k]);
                                        in->args[k] = TAKE_PTR(w);
                                }
                }
                r = dispatch(b, s, in, stages, nstages, ret_code, err);
        }
        _cleanup_free_ char *final = NULL;
        if (r == 0 && nstages && !stages[nstages - 1].image_id)
                r = berr_set(err, EINVAL, "No image was generated. Is your Dockerfile empty?");
        if (r == 0)
                final = xstrdup(stages[nstages - 1].image_id);
        for (size_t i = 0; i < nstages; i++)
                stage_clear(&stages[i]);
        free(stages);
        if (r < 0)
                return r;
        /* the labels of the request go onto the final image, as a last step */
        if (!b->quiet) {
                _cleanup_json_ json_t *aux = json_pack("{s:{s:s}}", "aux", "ID", final);
                b->out(b->cls, aux);
        }
        {
                _cleanup_strv_free_ char **unused = NULL;
                const char *k;
                json_t *v;
                json_object_foreach(b->buildargs, k, v) if (!is_builtin_arg(k) && !strv_contains(b->used_args, k))
                        strv_extend(&unused, k);
                size_t n = strv_length(unused);
                if (n) {
                        qsort(unused, n, sizeof(char *), cmp_str);
                        _cleanup_free_ char *list = NULL;
                        for (size_t i = 0; i < n; i++) {
                                char *nl = xasprintf("%s%s%s", list ? list : "", i ? " " : "", unused[i]);
                                free(list);
                                list = nl;
                        }
                        say(b, "[Warning] One or more build-args [%s] were not consumed\n", list);
                }
        }
        say(b, "Successfully built %s\n", short_id(final));
        for (size_t i = 0; b->tags && b->tags[i]; i++) {
                r = image_tag(b->e->images, final, b->tags[i], NULL, err);
                if (r < 0)
                        return r;
                say(b, "Successfully tagged %s\n", b->tags_familiar[i]);
        }
        if (b->quiet) {
                _cleanup_json_ json_t *j = json_pack("{s:s+}", "stream", final, "\n");
                b->out(b->cls, j);
        }
        *ret_id = TAKE_PTR(final);
        return 0;
}

typedef struct RunArgs {
        Build *b;
        BuildOutFn out;
        BuildGoneFn gone;
        void *cls;
        char *id;
        int code, r;
        BerthError *err;
} RunArgs;

static void *run_thread(void *p)
{
        RunArgs *a = p;
        a->r = build_run_inner(a->b, a->out, a->gone, a->cls, &a->id, &a->code, &a->err);
        return NULL;
}

int build_run(Build *b, BuildOutFn out, BuildGoneFn gone, void *cls, char **ret_id, int *ret_code, BerthError **err)
{
        /* Copying walks directory trees recursively: the build gets a thread with a stack of its own
         * (the connection's is small), and the depth is bounded (BUILD_MAX_DEPTH). */
        RunArgs a = { .b = b, .out = out, .gone = gone, .cls = cls };
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 8 << 20);
        pthread_t t;
        int k = pthread_create(&t, &attr, run_thread, &a);
        pthread_attr_destroy(&attr);
        if (k != 0)
                return berr_set(err, k, "cannot start the build: %s", strerror(k));
        pthread_join(t, NULL);
        *ret_code = a.code;
        if (a.r < 0) {
                if (err)
                        *err = a.err;
                else
                        berr_free(a.err);
                return a.r;
        }
        *ret_id = a.id;
        return 0;
}

int build_prune(Engine *e, json_t *given, json_t **ret, BerthError **err)
{
        _cleanup_json_ json_t *filters = given ? json_deep_copy(given) : json_object();
        json_object_set_new(filters, "dangling", json_pack("[s]", "true"));
        _cleanup_json_ json_t *res = NULL;
        int r = image_prune(e->images, filters, &res, err);
        if (r < 0)
                return r;
        json_t *ids = json_array();
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(res, "ImagesDeleted"), i, d)
        {
                const char *id = json_str(d, "Deleted");
                if (id)
                        json_array_append_new(ids, json_string(id));
        }
        json_t *sr = json_object_get(res, "SpaceReclaimed");
        /* dockerd's nil slice when nothing went */
        *ret = json_pack("{s:o,s:I}", "CachesDeleted", json_array_size(ids) ? ids : (json_decref(ids), json_null()),
                         "SpaceReclaimed", (json_int_t) json_integer_value(sr));
        return 0;
}
