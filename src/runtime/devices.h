/* Device access rules of a container (cgroup v1 devices controller, cgroup v2 eBPF program). */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum { RT_DEV_READ = 1, RT_DEV_WRITE = 2, RT_DEV_MKNOD = 4, RT_DEV_ALL = 7 };

typedef struct RtDeviceRule {
        char type;             /* 'a', 'b' or 'c' */
        int64_t major, minor;  /* -1 = any */
        unsigned access;       /* RT_DEV_* */
} RtDeviceRule;

/* Docker's default allow list ("c 1:3 rwm", ...), NULL-terminated. Everything else is denied. */
extern const char *const rt_default_device_rules[];

/* "c 1:3 rwm", "b *:* m", "a *:* rwm", "a". */
int rt_device_rule_parse(const char *s, RtDeviceRule *r);
char *rt_device_rule_format(const RtDeviceRule *r);

struct bpf_insn;
/* The BPF_PROG_TYPE_CGROUP_DEVICE program allowing exactly `rules` (NULL-terminated). */
int rt_device_bpf_build(char *const *rules, struct bpf_insn **ret, size_t *n_ret);
/* Loads that program and attaches it (BPF_CGROUP_DEVICE, multi) to the cgroup2 directory fd. */
int rt_device_bpf_attach(int cgroup_fd, char *const *rules);
