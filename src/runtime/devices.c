/* Device access of a container: Docker's default allow list (runc's AllowedDevices), rule
 * parsing, and the cgroup v2 eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) built from a rule list
 * with raw instructions. cgroup v1 takes the same rules in devices.deny/devices.allow (cgroup.c). */
#include "runtime/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/util.h"

/* Everything else is denied. mknod of any node is allowed (the node is useless without access). */
const char *const rt_default_device_rules[] = {
        "c *:* m",      "b *:* m",
        "c 1:3 rwm",    /* /dev/null */
        "c 1:8 rwm",    /* /dev/random */
        "c 1:7 rwm",    /* /dev/full */
        "c 5:0 rwm",    /* /dev/tty */
        "c 1:5 rwm",    /* /dev/zero */
        "c 1:9 rwm",    /* /dev/urandom */
        "c 136:* rwm",  /* /dev/pts/N */
        "c 5:1 rwm",    /* /dev/console */
        "c 5:2 rwm",    /* /dev/ptmx */
        "c 10:200 rwm", /* /dev/net/tun */
        NULL,
};

static int parse_num(const char **p, int64_t *ret)
{
        if (**p == '*') {
                (*p)++;
                *ret = -1;
                return 0;
        }
        if (**p < '0' || **p > '9')
                return -EINVAL;
        char *end;
        unsigned long v = strtoul(*p, &end, 10);
        if (v > 0xffffffffUL)
                return -EINVAL;
        *p = end;
        *ret = (int64_t) v;
        return 0;
}

int rt_device_rule_parse(const char *s, RtDeviceRule *r)
{
        *r = (RtDeviceRule){ .major = -1, .minor = -1 };
        if (!s || (s[0] != 'a' && s[0] != 'b' && s[0] != 'c'))
                return -EINVAL;
        r->type = s[0];
        const char *p = s + 1;
        if (r->type == 'a' && *p == 0) { /* "a" alone means everything */
                r->access = RT_DEV_ALL;
                return 0;
        }
        if (*p++ != ' ')
                return -EINVAL;
        if (parse_num(&p, &r->major) < 0 || *p++ != ':' || parse_num(&p, &r->minor) < 0)
                return -EINVAL;
        if (*p == 0) {
                r->access = RT_DEV_ALL;
                return 0;
        }
        if (*p++ != ' ' || !*p)
                return -EINVAL;
        for (; *p; p++) {
                unsigned bit = *p == 'r' ? RT_DEV_READ : *p == 'w' ? RT_DEV_WRITE : *p == 'm' ? RT_DEV_MKNOD : 0;
                if (!bit || (r->access & bit))
                        return -EINVAL;
                r->access |= bit;
        }
        return 0;
}

char *rt_device_rule_format(const RtDeviceRule *r)
{
        char maj[24] = "*", min[24] = "*", acc[4];
        int n = 0;
        if (r->major >= 0)
                snprintf(maj, sizeof(maj), "%lld", (long long) r->major);
        if (r->minor >= 0)
                snprintf(min, sizeof(min), "%lld", (long long) r->minor);
        if (r->access & RT_DEV_READ)
                acc[n++] = 'r';
        if (r->access & RT_DEV_WRITE)
                acc[n++] = 'w';
        if (r->access & RT_DEV_MKNOD)
                acc[n++] = 'm';
        acc[n] = 0;
        return xasprintf("%c %s:%s %s", r->type, maj, min, acc);
}

/* ---- cgroup v2: the device program ---- */

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

static void emit(struct bpf_insn **v, size_t *n, size_t *cap, struct bpf_insn in)
{
        if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 64;
                *v = xrealloc(*v, *cap * sizeof(struct bpf_insn));
        }
        (*v)[(*n)++] = in;
}

int rt_device_bpf_build(char *const *rules, struct bpf_insn **ret, size_t *n_ret)
{
        struct bpf_insn *v = NULL;
        size_t n = 0, cap = 0;
        /* ctx is struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; };
         * access_type = access << 16 | type. r2 = type, r3 = access, r4 = major, r5 = minor. */
        emit(&v, &n, &cap, INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0));
        emit(&v, &n, &cap, INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));
        emit(&v, &n, &cap, INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0));
        emit(&v, &n, &cap, INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));
        emit(&v, &n, &cap, INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0));
        emit(&v, &n, &cap, INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0));
        for (size_t i = 0; rules && rules[i]; i++) {
                RtDeviceRule r;
                if (rt_device_rule_parse(rules[i], &r) < 0) {
                        free(v);
                        return -EINVAL;
                }
                /* One block per rule; every test jumps past the block's end when it does not match. */
                struct bpf_insn blk[8];
                size_t k = 0;
                if (r.type != 'a')
                        blk[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
                                        r.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
                if ((r.access & RT_DEV_ALL) != RT_DEV_ALL) {
                        unsigned acc = ((r.access & RT_DEV_MKNOD) ? BPF_DEVCG_ACC_MKNOD : 0) |
                                       ((r.access & RT_DEV_READ) ? BPF_DEVCG_ACC_READ : 0) |
                                       ((r.access & RT_DEV_WRITE) ? BPF_DEVCG_ACC_WRITE : 0);
                        /* The requested access must be a subset of the rule's. */
                        blk[k++] = INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
                        blk[k++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int32_t) acc);
                        blk[k++] = INSN(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
                }
                if (r.major >= 0)
                        blk[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t) r.major);
                if (r.minor >= 0)
                        blk[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t) r.minor);
                blk[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
                blk[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
                for (size_t j = 0; j < k; j++) {
                        if (BPF_CLASS(blk[j].code) == BPF_JMP && BPF_OP(blk[j].code) == BPF_JNE)
                                blk[j].off = (int16_t) (k - j - 1);
                        emit(&v, &n, &cap, blk[j]);
                }
        }
        emit(&v, &n, &cap, INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
        emit(&v, &n, &cap, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        *ret = v;
        *n_ret = n;
        return 0;
}

int rt_device_bpf_attach(int cgroup_fd, char *const *rules)
{
        _cleanup_free_ struct bpf_insn *insns = NULL;
        size_t n;
        int r = rt_device_bpf_build(rules, &insns, &n);
        if (r < 0)
                return r;
        union bpf_attr a;
        memset(&a, 0, sizeof(a));
        a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        a.insns = (uint64_t) (uintptr_t) insns;
        a.insn_cnt = (uint32_t) n;
        a.license = (uint64_t) (uintptr_t) "Apache";
        /* No verifier log: a log buffer that turns out too small makes the load fail (ENOSPC). */
        int prog = (int) syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
        if (prog < 0)
                return -errno;
        memset(&a, 0, sizeof(a));
        a.target_fd = (uint32_t) cgroup_fd;
        a.attach_bpf_fd = (uint32_t) prog;
        a.attach_type = BPF_CGROUP_DEVICE;
        a.attach_flags = BPF_F_ALLOW_MULTI;
        r = (int) syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof(a));
        r = r < 0 ? -errno : 0;
        close(prog); /* an attached program stays with the cgroup */
        return r;
}
