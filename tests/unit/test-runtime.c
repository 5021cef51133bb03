/* Pure pieces of the runtime and monitor: user resolution, json-file line encoding, line
 * splitting and rotation. */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/util.h"
#include "monitor/jsonlog.h"
#include "runtime/devices.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"
#include <linux/bpf.h>
#include "runtime/user.h"
#include "test.h"

#include <zlib.h>

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                             "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n";
static const char group[] = "root:x:0:\nwheel:x:10:root,alice\nalice:x:1000:\naudio:x:29:bob,alice\n";

TEST(user_by_name_with_supplementary_groups)
{
        RtExecUser u;
        _cleanup_berr_ BerthError *err = NULL;
        ASSERT_OK(rt_user_resolve("alice", passwd, group, &u, &err));
        ASSERT_EQ(u.uid, 1000);
        ASSERT_EQ(u.gid, 1000);
        ASSERT_STREQ(u.home, "/home/alice");
        ASSERT_EQ(u.n_sgids, 2);
        ASSERT_EQ(u.sgids[0], 10);
        ASSERT_EQ(u.sgids[1], 29);
        rt_exec_user_done(&u);
}

TEST(user_empty_is_root)
{
        RtExecUser u;
        _cleanup_berr_ BerthError *err = NULL;
        ASSERT_OK(rt_user_resolve("", passwd, group, &u, &err));
        ASSERT_EQ(u.uid, 0);
        ASSERT_STREQ(u.home, "/root");
        ASSERT_EQ(u.n_sgids, 1); /* wheel lists root */
        rt_exec_user_done(&u);
}

TEST(user_numeric_and_explicit_group)
{
        RtExecUser u;
        _cleanup_berr_ BerthError *err = NULL;
        ASSERT_OK(rt_user_resolve("1234:5678", passwd, group, &u, &err));
        ASSERT_EQ(u.uid, 1234);
        ASSERT_EQ(u.gid, 5678);
        ASSERT_STREQ(u.home, "/");
        ASSERT_EQ(u.n_sgids, 0);
        rt_exec_user_done(&u);
        ASSERT_OK(rt_user_resolve("1000:wheel", passwd, group, &u, &err));
        ASSERT_EQ(u.uid, 1000);
        ASSERT_EQ(u.gid, 10);
        ASSERT_STREQ(u.home, "/home/alice");
        ASSERT_EQ(u.n_sgids, 0); /* explicit group: no supplementary ones */
        rt_exec_user_done(&u);
        ASSERT_OK(rt_user_resolve("daemon", NULL, NULL, &u, &err) == -ENOENT ? 0 : -1);
}

TEST(user_errors)
{
        RtExecUser u;
        BerthError *err = NULL;
        ASSERT_EQ(rt_user_resolve("bob", passwd, group, &u, &err), -ENOENT);
        ASSERT_STREQ(err->msg, "unable to find user bob: no matching entries in passwd file");
        berr_freep(&err);
        ASSERT_EQ(rt_user_resolve("alice:nogroup", passwd, group, &u, &err), -ENOENT);
        ASSERT_STREQ(err->msg, "unable to find group nogroup: no matching entries in group file");
        berr_freep(&err);
        ASSERT_EQ(rt_user_resolve("99999999999", passwd, group, &u, &err), -EINVAL);
        ASSERT_EQ(err->code, EINVAL);
        berr_freep(&err);
}

TEST(log_line_format)
{
        char buf[MON_LOG_FORMAT_SIZE(64)];
        int64_t ns = 1795727262279239050LL; /* 2026-11-26T21:07:42.27923905Z */
        size_t n = mon_log_format(buf, "hi\n", 3, "stdout", ns);
        buf[n] = 0;
        ASSERT_STREQ(buf, "{\"log\":\"hi\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T21:07:42.27923905Z\"}\n");
        const char msg[] = "a\tb\x01<>&\\\"\r\n\xff\xe2\x80\xa8\xc3\xa9";
        n = mon_log_format(buf, msg, sizeof(msg) - 1, "stderr", 1795727262000000000LL);
        buf[n] = 0;
        ASSERT_STREQ(buf, "{\"log\":\"a\\u0009b\\u0001\\u003c\\u003e\\u0026\\\\\\\"\\r\\n\\ufffd\\u2028\xc3\xa9\","
                          "\"stream\":\"stderr\",\"time\":\"2026-11-26T21:07:42Z\"}\n");
}

typedef struct Collected {
        char out[4 * MON_LOG_LINE_MAX];
        size_t len;
        int count;
} Collected;

static void collect(void *ud, const char *stream, const char *msg, size_t len)
{
        Collected *c = ud;
        memcpy(c->out + c->len, msg, len);
        c->len += len;
        c->out[c->len++] = '|';
        c->count++;
}

TEST(line_splitting)
{
        static MonLineBuf b = { .stream = "stdout" };
        static Collected c;
        mon_lines_feed(&b, "one\ntw", 6, collect, &c);
        mon_lines_feed(&b, "o\nthree", 7, collect, &c);
        ASSERT_EQ(c.count, 2);
        mon_lines_flush(&b, collect, &c);
        c.out[c.len] = 0;
        ASSERT_STREQ(c.out, "one\n|two\n|three|");
        /* a line longer than the buffer comes out in partial pieces */
        static char big[MON_LOG_LINE_MAX + 10];
        memset(big, 'x', sizeof(big));
        big[sizeof(big) - 1] = '\n';
        c.len = 0;
        c.count = 0;
        mon_lines_feed(&b, big, sizeof(big), collect, &c);
        ASSERT_EQ(c.count, 2);
        ASSERT_EQ(c.len, sizeof(big) + 2);
}

TEST(log_rotation)
{
        char dir[] = "/tmp/berth-test-log-XXXXXX";
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        _cleanup_free_ char *path = xasprintf("%s/c-json.log", dir);
        MonLog l;
        ASSERT_OK(mon_log_open(&l, path, 200, 3, false));
        for (int i = 0; i < 20; i++)
                ASSERT_OK(mon_log_write(&l, "stdout", "0123456789012345678901234567890123456789\n", 41, now_ns()));
        mon_log_close(&l);
        struct stat st;
        _cleanup_free_ char *p1 = xasprintf("%s.1", path);
        _cleanup_free_ char *p2 = xasprintf("%s.2", path);
        _cleanup_free_ char *p3 = xasprintf("%s.3", path);
        ASSERT_OK(stat(path, &st));
        ASSERT_TRUE(st.st_size > 0 && st.st_size < 400);
        ASSERT_OK(stat(p1, &st));
        ASSERT_TRUE(st.st_size >= 200);
        ASSERT_OK(stat(p2, &st));
        ASSERT_TRUE(stat(p3, &st) < 0);
        ASSERT_OK(rm_rf(dir));
}

TEST(log_rotation_compressed)
{
        char dir[] = "/tmp/berth-test-log-XXXXXX";
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        _cleanup_free_ char *path = xasprintf("%s/c-json.log", dir);
        MonLog l;
        ASSERT_OK(mon_log_open(&l, path, 200, 3, true));
        for (int i = 0; i < 20; i++)
                ASSERT_OK(mon_log_write(&l, "stdout", "0123456789012345678901234567890123456789\n", 41, now_ns()));
        mon_log_close(&l);
        struct stat st;
        _cleanup_free_ char *p1 = xasprintf("%s.1", path), *g1 = xasprintf("%s.1.gz", path);
        _cleanup_free_ char *g2 = xasprintf("%s.2.gz", path), *g3 = xasprintf("%s.3.gz", path);
        ASSERT_OK(stat(path, &st));
        ASSERT_TRUE(stat(p1, &st) < 0); /* compressed at rotation */
        ASSERT_OK(stat(g1, &st));
        ASSERT_OK(stat(g2, &st));
        ASSERT_TRUE(stat(g3, &st) < 0);
        /* the newest rotated file holds whole json-file lines */
        gzFile gz = gzopen(g1, "rb");
        ASSERT_TRUE(gz != NULL);
        char buf[1024];
        int n = gzread(gz, buf, sizeof(buf) - 1);
        gzclose(gz);
        ASSERT_TRUE(n >= 200);
        buf[n] = 0;
        ASSERT_TRUE(strncmp(buf, "{\"log\":\"0123456789", 17) == 0);
        ASSERT_TRUE(buf[n - 1] == '\n');
        ASSERT_OK(rm_rf(dir));
}

TEST(spec_defaults)
{
        RtSpec *s = NULL;
        BerthError *err = NULL;
        ASSERT_OK(rt_spec_parse("{\"args\":[\"sh\"],\"upper\":\"/u\",\"work\":\"/w\"}", &s, &err));
        ASSERT_STREQ(s->cwd, "/");
        ASSERT_TRUE(s->ns_pid && s->ns_net && s->seccomp);
        ASSERT_STREQ(s->masked_paths[0], "/proc/asound");
        ASSERT_TRUE(s->capabilities == NULL);
        ASSERT_EQ(s->shm_size, 67108864);
        rt_spec_free(s);
        ASSERT_TRUE(rt_spec_parse("{\"args\":[],\"upper\":\"/u\",\"work\":\"/w\"}", &s, &err) == -EINVAL);
        ASSERT_STREQ(err->msg, "invalid spec.json: no command specified");
        berr_free(err);
}

/* Runs the cgroup v2 device program on one access, with a small interpreter of the instructions
 * the builder emits: 1 = allowed. */
static int run_devprog(const struct bpf_insn *p, size_t n, char type, unsigned maj, unsigned min, unsigned acc)
{
        uint64_t reg[11] = { 0 };
        uint32_t ctx[3] = { (acc << 16) | (type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK), maj, min };
        for (size_t pc = 0; pc < n; pc++) {
                const struct bpf_insn *i = &p[pc];
                uint64_t src = BPF_SRC(i->code) == BPF_X ? reg[i->src_reg] : (uint64_t) (int64_t) i->imm;
                switch (i->code) {
                case BPF_LDX | BPF_MEM | BPF_W: reg[i->dst_reg] = ctx[i->off / 4]; break;
                case BPF_ALU | BPF_AND | BPF_K: reg[i->dst_reg] = (uint32_t) (reg[i->dst_reg] & src); break;
                case BPF_ALU | BPF_RSH | BPF_K: reg[i->dst_reg] = (uint32_t) reg[i->dst_reg] >> i->imm; break;
                case BPF_ALU | BPF_MOV | BPF_X: reg[i->dst_reg] = (uint32_t) src; break;
                case BPF_ALU64 | BPF_MOV | BPF_K: reg[i->dst_reg] = src; break;
                case BPF_JMP | BPF_JNE | BPF_K:
                case BPF_JMP | BPF_JNE | BPF_X:
                        if (reg[i->dst_reg] != src)
                                pc += (size_t) i->off;
                        break;
                case BPF_JMP | BPF_EXIT: return (int) reg[0];
                default: return -1;
                }
        }
        return -2;
}

TEST(device_program)
{
        char *rules[] = { (char *) "c 1:3 rwm", (char *) "c *:* m", (char *) "b *:* m", (char *) "c 136:* rwm",
                          (char *) "b 7:* r", NULL };
        _cleanup_free_ struct bpf_insn *p = NULL;
        size_t n;
        ASSERT_OK(rt_device_bpf_build(rules, &p, &n));
        enum { M = BPF_DEVCG_ACC_MKNOD, R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE };
        ASSERT_EQ(run_devprog(p, n, 'c', 1, 3, R | W), 1);   /* /dev/null */
        ASSERT_EQ(run_devprog(p, n, 'c', 1, 11, R), 0);      /* /dev/kmsg */
        ASSERT_EQ(run_devprog(p, n, 'c', 1, 11, M), 1);      /* mknod of anything */
        ASSERT_EQ(run_devprog(p, n, 'b', 7, 0, M), 1);
        ASSERT_EQ(run_devprog(p, n, 'b', 7, 0, R), 1);       /* b 7:* r */
        ASSERT_EQ(run_devprog(p, n, 'b', 7, 0, R | W), 0);
        ASSERT_EQ(run_devprog(p, n, 'b', 8, 0, R), 0);       /* /dev/sda */
        ASSERT_EQ(run_devprog(p, n, 'c', 136, 42, W), 1);    /* a pts */
        ASSERT_EQ(run_devprog(p, n, 'b', 136, 42, W), 0);
        char *all[] = { (char *) "a *:* rwm", NULL };
        _cleanup_free_ struct bpf_insn *q = NULL;
        ASSERT_OK(rt_device_bpf_build(all, &q, &n));
        ASSERT_EQ(run_devprog(q, n, 'b', 8, 0, R | W), 1);
        char *bad[] = { (char *) "x 1:2 r", NULL };
        ASSERT_TRUE(rt_device_bpf_build(bad, &q, &n) < 0);
        RtDeviceRule r;
        ASSERT_TRUE(rt_device_rule_parse("c 1:3 rwx", &r) < 0);
        ASSERT_OK(rt_device_rule_parse("c *:5 rw", &r));
        ASSERT_TRUE(r.major == -1 && r.minor == 5 && r.access == (RT_DEV_READ | RT_DEV_WRITE));
}

TEST(seccomp_profiles)
{
        /* The built-in default is an allow list in Docker's format, valid for the loader. */
        json_t *d = rt_seccomp_default_profile();
        ASSERT_STREQ(json_string_value(json_object_get(d, "defaultAction")), "SCMP_ACT_ERRNO");
        _cleanup_free_ char *text = json_dumps(d, 0);
        ASSERT_TRUE(strstr(text, "\"io_uring_setup\"") == NULL);
        ASSERT_TRUE(strstr(text, "\"pidfd_getfd\"") != NULL); /* only under CAP_SYS_PTRACE */
        json_decref(d);
        BerthError *msg = NULL;
        ASSERT_OK(rt_seccomp_check_profile(text, &msg));
        ASSERT_TRUE(msg == NULL);
        ASSERT_TRUE(rt_seccomp_check_profile("{\"defaultAction\":\"SCMP_ACT_NOPE\"}", &msg) < 0);
        ASSERT_STREQ(msg->msg, "unsupported defaultAction: SCMP_ACT_NOPE");
        berr_freep(&msg);
        ASSERT_TRUE(rt_seccomp_check_profile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                                             "[\"x\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":9,"
                                             "\"op\":\"SCMP_CMP_EQ\"}]}]}", &msg) < 0);
        ASSERT_STREQ(msg->msg, "invalid argument condition in syscall rule 0");
        berr_freep(&msg);
        ASSERT_TRUE(rt_seccomp_check_profile("[1]", &msg) < 0);
        berr_freep(&msg);
}

/* The default profile compiled once in berthd: cached per capability set, refused when malformed,
 * and once installed it denies what the profile denies (keyctl) and allows the rest. */
TEST(seccomp_default_bpf)
{
        _cleanup_free_ char *a = rt_seccomp_default_bpf(NULL, false);
        _cleanup_free_ char *b = rt_seccomp_default_bpf(NULL, false);
        char *const none[] = { NULL };
        _cleanup_free_ char *c = rt_seccomp_default_bpf(none, false);
        _cleanup_free_ char *all = rt_seccomp_default_bpf(NULL, true);
        ASSERT_TRUE(a && b && c && all);
        ASSERT_STREQ(a, b);
        ASSERT_TRUE(strlen(a) % 16 == 0);
        ASSERT_TRUE(!streq(a, all)); /* CapAdd ALL lets more through (the caps-included rules) */
        ASSERT_EQ(rt_seccomp_load_bpf(""), -EINVAL);
        ASSERT_EQ(rt_seccomp_load_bpf("0011"), -EINVAL);
        ASSERT_EQ(rt_seccomp_load_bpf("zz00000000000000"), -EINVAL);
        if (geteuid() != 0)
                return; /* installing a filter without no_new_privs needs CAP_SYS_ADMIN */
        fflush(stdout); /* the child's exit must not print the TAP lines so far a second time (TSan flushes) */
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                if (rt_seccomp_load_bpf(a) < 0)
                        _exit(2);
                long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0);
                _exit(r < 0 && errno == EPERM && getpid() > 0 ? 0 : 3);
        }
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
}

TEST_MAIN
