/* The engine: berth's core, free of HTTP. It owns the state store, the image
 * store, the containers and their monitors. API handlers and the daemon main
 * call its verbs; it never includes http/ or api/.
 *
 * Locking: `lock` guards the store and in-memory container table. Verbs take
 * it for short critical sections only; long work (unpacking layers, waiting
 * for exits, streaming logs) runs without it. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/version.h"
#include "state/store.h"

typedef struct ImageStore ImageStore;
typedef struct ContainerTable ContainerTable;
typedef struct EventLog EventLog;

typedef struct EngineConfig {
        char *data_root;
        char *exec_root;
        char *bip;               /* --bip, bridge address/prefix */
        bool debug;
        bool no_userland_proxy;  /* --userland-proxy=false */
        char **insecure_registries;
        char *discovery;           /* --discovery etcd://host:port[,...] (discovery/discovery.h) */
        char *discovery_advertise; /* --discovery-advertise IP */
        int discovery_ttl;         /* --discovery-ttl seconds, 0 = default */
        /* Layer unpacking bounds (docs/security.md): decompressed/compressed
         * ratio (0: none), decompressed bytes per layer (0: none), and the
         * free space that must remain in the data root. */
        unsigned layer_max_ratio;
        uint64_t layer_max_size;
        uint64_t min_free_space;
} EngineConfig;

typedef struct Engine {
        EngineConfig cfg;
        Store *store;
        ImageStore *images;
        ContainerTable *containers;
        EventLog *events;        /* engine/events.h: the event journal */
        struct Network *net;     /* network/network.h: its context (engine/netglue.c) */
        struct Discovery *discovery; /* discovery/discovery.h, NULL without --discovery */
        struct VolumeStore *volumes; /* volume/volume.h */
        struct ExecTable *execs; /* engine/exec.h, created on first use (under lock) */
        struct HealthSched *health; /* engine/health.h, created on first use (under lock) */
        pthread_mutex_t lock;
        int64_t started_ns;
        char id[65]; /* stable daemon id, kept in the data root */
} Engine;

int engine_new(const EngineConfig *cfg, Engine **ret, BerthError **err);
void engine_free(Engine *e);
/* SIGHUP: the settings berthd reloads from daemon.json. Readers of
 * cfg.debug and cfg.insecure_registries (and ImageStore's) hold Engine.lock. */
void engine_reload(Engine *e, bool debug, char **insecure_registries);
