/* Signal names as Docker reads them (moby's signal.ParseSignal): StopSignal, kill, stop and restart. */
#pragma once

/* "TERM", "SIGTERM", "sigterm", "15", "RTMIN", "RTMIN+3", "RTMAX-2". -EINVAL when unknown. */
int signal_from_string(const char *s);
