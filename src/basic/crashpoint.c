#include "crashpoint.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char point[128];
static long nth = 1;
static long hits;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void crash_point_init(void)
{
        const char *v = getenv("BERTH_CRASH_AT");
        if (!v || !*v)
                return;
        snprintf(point, sizeof(point), "%s", v);
        char *colon = strchr(point, ':');
        if (colon) {
                *colon = 0;
                nth = strtol(colon + 1, NULL, 10);
                if (nth < 1)
                        nth = 1;
        }
        /* Children (berth-monitor) must not inherit it. */
        unsetenv("BERTH_CRASH_AT");
        fprintf(stderr, "berthd: fault injection armed: SIGKILL at crash point %s (pass %ld)\n", point, nth);
}

void crash_point(const char *name)
{
        if (!point[0] || strcmp(point, name) != 0)
                return;
        pthread_mutex_lock(&lock);
        bool now = ++hits == nth;
        pthread_mutex_unlock(&lock);
        if (!now)
                return;
        char msg[200];
        int n = snprintf(msg, sizeof(msg), "berthd: crash point %s reached: killing myself (BERTH_CRASH_AT)\n", name);
        if (n > 0)
                (void) !write(STDERR_FILENO, msg, (size_t) n);
        for (;;) {
                kill(getpid(), SIGKILL);
                pause();
        }
}
