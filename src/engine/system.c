#include "system.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "basic/util.h"
#include "engine/container.h"
#include "engine/volumes.h"
#include "image/image.h"

static long long count(Engine *e, const char *sql)
{
        _cleanup_stmt_ sqlite3_stmt *st = store_prepare(e->store, sql, NULL);
        if (!st || sqlite3_step(st) != SQLITE_ROW)
                return 0;
        return sqlite3_column_int64(st, 0);
}

static int count_fds(void)
{
        _cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
        int n = 0;
        if (!d)
                return 0;
        while (readdir(d))
                n++;
        return n > 3 ? n - 3 : 0;
}

static bool file_is_one(const char *path)
{
        _cleanup_free_ char *s = NULL;
        return read_file(path, &s, NULL) == 0 && s[0] == '1';
}

static char *os_pretty_name(void)
{
        _cleanup_free_ char *s = NULL;
        if (read_file("/etc/os-release", &s, NULL) < 0)
                return strdup("Linux");
        char *p = strstr(s, "PRETTY_NAME=");
        if (!p)
                return strdup("Linux");
        p += 12;
        if (*p == '"')
                p++;
        size_t n = strcspn(p, "\"\n");
        return strndup(p, n);
}

static char *os_version_id(void)
{
        _cleanup_free_ char *s = NULL;
        if (read_file("/etc/os-release", &s, NULL) < 0)
                return strdup("");
        char *p = strstr(s, "VERSION_ID=");
        if (!p)
                return strdup("");
        p += 11;
        if (*p == '"')
                p++;
        return strndup(p, strcspn(p, "\"\n"));
}

/* "2" on a pure cgroup2 host, "1" on v1 or hybrid. */
static const char *cgroup_version(void)
{
        struct statfs sf;
        if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == 0x63677270)
                return "2";
        return "1";
}

static const char *backing_fs(const char *path)
{
        struct statfs sf;
        if (statfs(path, &sf) < 0)
                return "unknown";
        switch ((unsigned long) sf.f_type) {
        case 0xEF53: return "extfs";
        case 0x58465342: return "xfs";
        case 0x9123683E: return "btrfs";
        case 0x01021994: return "tmpfs";
        case 0x794c7630: return "overlayfs";
        default: return "unknown";
        }
}

int engine_info(Engine *e, json_t **ret, BerthError **err _unused_)
{
        struct utsname u;
        uname(&u);
        struct sysinfo si;
        sysinfo(&si);
        char host[256] = "";
        gethostname(host, sizeof(host) - 1);
        _cleanup_free_ char *os = os_pretty_name();
        _cleanup_free_ char *osver = os_version_id();
        _cleanup_free_ char *systime = format_rfc3339(now_ns(), false);
        /* Docker shows the engine id as 12 groups of 4 characters. */
        char id[64];
        size_t k = 0;
        for (int g = 0; g < 12; g++) {
                if (g)
                        id[k++] = ':';
                for (int c = 0; c < 4; c++)
                        id[k++] = (char) (e->id[g * 4 + c] >= 'a' ? e->id[g * 4 + c] - 32 : e->id[g * 4 + c]);
        }
        id[k] = 0;

        pthread_mutex_lock(&e->lock);
        long long n_img = count(e, "SELECT count(*) FROM images");
        long long n_ctr = count(e, "SELECT count(*) FROM containers");
        long long n_run = count(e, "SELECT count(*) FROM containers WHERE json_extract(state,'$.Status')='running'");
        long long n_pau = count(e, "SELECT count(*) FROM containers WHERE json_extract(state,'$.Status')='paused'");
        json_t *insecure = json_array();
        json_array_append_new(insecure, json_string("127.0.0.0/8"));
        for (size_t i = 0; e->cfg.insecure_registries && e->cfg.insecure_registries[i]; i++)
                json_array_append_new(insecure, json_string(e->cfg.insecure_registries[i]));
        bool debug = e->cfg.debug;
        pthread_mutex_unlock(&e->lock);

        bool v2 = streq(cgroup_version(), "2");
        json_t *driver_status = json_pack("[[s,s],[s,s],[s,s],[s,s]]", "Backing Filesystem",
                                          backing_fs(e->cfg.data_root), "Supports d_type", "true",
                                          "Native Overlay Diff", "true", "userxattr", "false");
        json_t *j = json_object();
        json_object_set_new(j, "ID", json_string(id));
        json_object_set_new(j, "Containers", json_integer(n_ctr));
        json_object_set_new(j, "ContainersRunning", json_integer(n_run));
        json_object_set_new(j, "ContainersPaused", json_integer(n_pau));
        json_object_set_new(j, "ContainersStopped", json_integer(n_ctr - n_run - n_pau));
        json_object_set_new(j, "Images", json_integer(n_img));
        json_object_set_new(j, "Driver", json_string("overlay2"));
        json_object_set_new(j, "DriverStatus", driver_status);
        json_object_set_new(j, "Plugins",
                            json_pack("{s:[s],s:[s,s,s],s:n,s:[s]}", "Volume", "local", "Network", "bridge", "host",
                                      "null", "Authorization", "Log", "json-file"));
        json_object_set_new(j, "MemoryLimit", json_true());
        json_object_set_new(j, "SwapLimit", json_boolean(access(v2 ? "/sys/fs/cgroup/memory.swap.max" :
                                                                     "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0));
        json_object_set_new(j, "CpuCfsPeriod", json_true());
        json_object_set_new(j, "CpuCfsQuota", json_true());
        json_object_set_new(j, "CPUShares", json_true());
        json_object_set_new(j, "CPUSet", json_true());
        json_object_set_new(j, "PidsLimit", json_true());
        json_object_set_new(j, "IPv4Forwarding", json_boolean(file_is_one("/proc/sys/net/ipv4/ip_forward")));
        json_object_set_new(j, "BridgeNfIptables", json_boolean(file_is_one("/proc/sys/net/bridge/bridge-nf-call-iptables")));
        json_object_set_new(j, "BridgeNfIp6tables", json_boolean(file_is_one("/proc/sys/net/bridge/bridge-nf-call-ip6tables")));
        json_object_set_new(j, "Debug", json_boolean(debug));
        json_object_set_new(j, "NFd", json_integer(count_fds()));
        json_object_set_new(j, "OomKillDisable", json_boolean(!v2));
        json_object_set_new(j, "NGoroutines", json_integer(0));
        json_object_set_new(j, "SystemTime", json_string(systime));
        json_object_set_new(j, "LoggingDriver", json_string("json-file"));
        json_object_set_new(j, "CgroupDriver", json_string("cgroupfs"));
        json_object_set_new(j, "CgroupVersion", json_string(cgroup_version()));
        json_object_set_new(j, "NEventsListener", json_integer(0));
        json_object_set_new(j, "KernelVersion", json_string(u.release));
        json_object_set_new(j, "OperatingSystem", json_string(os));
        json_object_set_new(j, "OSVersion", json_string(osver));
        json_object_set_new(j, "OSType", json_string("linux"));
        json_object_set_new(j, "Architecture", json_string(u.machine));
        json_object_set_new(j, "IndexServerAddress", json_string("https://index.docker.io/v1/"));
        json_object_set_new(j, "RegistryConfig",
                            json_pack("{s:[],s:[],s:o,s:{s:{s:s,s:[],s:b,s:b}},s:[]}",
                                      "AllowNondistributableArtifactsCIDRs", "AllowNondistributableArtifactsHostnames",
                                      "InsecureRegistryCIDRs", insecure, "IndexConfigs", "docker.io", "Name",
                                      "docker.io", "Mirrors", "Secure", 1, "Official", 1, "Mirrors"));
        json_object_set_new(j, "NCPU", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
        json_object_set_new(j, "MemTotal", json_integer((json_int_t) si.totalram * si.mem_unit));
        json_object_set_new(j, "GenericResources", json_null());
        json_object_set_new(j, "DockerRootDir", json_string(e->cfg.data_root));
        json_object_set_new(j, "HttpProxy", json_string(getenv("HTTP_PROXY") ? getenv("HTTP_PROXY") : ""));
        json_object_set_new(j, "HttpsProxy", json_string(getenv("HTTPS_PROXY") ? getenv("HTTPS_PROXY") : ""));
        json_object_set_new(j, "NoProxy", json_string(getenv("NO_PROXY") ? getenv("NO_PROXY") : ""));
        json_object_set_new(j, "Name", json_string(host));
        json_object_set_new(j, "Labels", json_array());
        json_object_set_new(j, "ExperimentalBuild", json_false());
        json_object_set_new(j, "ServerVersion", json_string(BERTH_VERSION));
        _cleanup_free_ char *mon = engine_monitor_path();
        json_object_set_new(j, "Runtimes", json_pack("{s:{s:s},s:{s:s}}", "berth", "path", mon, "runc", "path", mon));
        /* "runc" is the name Docker's clients expect by default; both names run berth-monitor */
        json_object_set_new(j, "DefaultRuntime", json_string("runc"));
        json_object_set_new(j, "Swarm", json_pack("{s:s,s:s,s:s,s:b,s:s,s:n}", "NodeID", "", "NodeAddr", "",
                                                  "LocalNodeState", "inactive", "ControlAvailable", 0, "Error", "",
                                                  "RemoteManagers"));
        json_object_set_new(j, "LiveRestoreEnabled", json_true());
        json_object_set_new(j, "Isolation", json_string(""));
        json_object_set_new(j, "InitBinary", json_string("berth-init"));
        json_object_set_new(j, "CDISpecDirs", json_array()); /* berth has no CDI devices */
        /* berthd, berth-monitor and berth-init stand where containerd, runc and docker-init do, all built
         * from one tree (Expected left the response in 1.49: compat.c adds it back) */
        json_object_set_new(j, "ContainerdCommit", json_pack("{s:s}", "ID", BERTH_GIT_COMMIT));
        json_object_set_new(j, "RuncCommit", json_pack("{s:s}", "ID", BERTH_GIT_COMMIT));
        json_object_set_new(j, "InitCommit", json_pack("{s:s}", "ID", BERTH_GIT_COMMIT));
        json_t *sec = json_array();
        json_array_append_new(sec, json_string("name=seccomp,profile=builtin"));
        if (v2)
                json_array_append_new(sec, json_string("name=cgroupns"));
        json_object_set_new(j, "SecurityOptions", sec);
        json_object_set_new(j, "Warnings", json_null());
        *ret = j;
        return 0;
}

int engine_disk_usage(Engine *e, json_t **ret, BerthError **err)
{
        long long layers = 0;
        json_t *images = NULL;
        int r = image_disk_usage(e->images, &images, &layers, err);
        if (r < 0)
                return r;
        json_t *j = json_object();
        json_object_set_new(j, "LayersSize", json_integer(layers));
        json_object_set_new(j, "Images", images);
        json_object_set_new(j, "Containers", json_array());
        json_t *vols = NULL;
        if (engine_volume_list(e, NULL, true, &vols, err) < 0) {
                json_decref(j);
                return -EIO;
        }
        json_object_set_new(j, "Volumes", vols);
        json_object_set_new(j, "BuildCache", json_array());
        *ret = j;
        return 0;
}

void engine_container_size(Engine *e, const char *id, const char *image_id, long long *ret_rw, long long *ret_rootfs)
{
        _cleanup_free_ char *dir = container_dir(e, id);
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
        long long rw = dir_size(upper);
        *ret_rw = rw;
        *ret_rootfs = rw + image_total_size(e->images, image_id);
}

bool engine_runtime_known(const char *name)
{
        return streq(name, "berth") || streq(name, "runc");
}
