/* Sealed in-memory copies of berth-monitor (CVE-2019-5736): every process that enters a container
 * is a fork of the monitor, so its /proc/PID/exe must never be the host's binary, which the
 * container's root could open and rewrite. A memfd with F_SEAL_WRITE/SHRINK/GROW/SEAL cannot be
 * changed by anyone. */
#include "runtime/runtime.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/macro.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

int rt_sealed_copy(const char *path, int *ret)
{
        _cleanup_close_ int src = open(path, O_RDONLY | O_CLOEXEC);
        if (src < 0)
                return -errno;
        struct stat st;
        if (fstat(src, &st) < 0)
                return -errno;
        int m = memfd_create("berth-monitor", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (m < 0)
                return -errno;
        off_t off = 0;
        while (off < st.st_size) {
                ssize_t n = sendfile(m, src, &off, (size_t) (st.st_size - off));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int r = n < 0 ? -errno : -EIO;
                        close(m);
                        return r;
                }
        }
        if (fchmod(m, 0555) < 0 || fcntl(m, F_ADD_SEALS, SEALS) < 0) {
                int r = -errno;
                close(m);
                return r;
        }
        *ret = m;
        return 0;
}

int rt_exe_is_sealed(void)
{
        _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int s = fcntl(fd, F_GET_SEALS);
        return s >= 0 && (s & SEALS) == SEALS;
}
