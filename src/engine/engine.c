#include "engine.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/crashpoint.h"
#include "basic/util.h"
#include "engine/health.h"
#include "engine/netglue.h"
#include "image/image.h"
#include "state/events.h"
#include "volume/volume.h"

static int load_daemon_id(Engine *e)
{
        _cleanup_free_ char *path = xasprintf("%s/engine-id", e->cfg.data_root);
        _cleanup_free_ char *data = NULL;
        if (read_file(path, &data, NULL) == 0 && strlen(data) >= 64 && is_hex(data, 64)) {
                memcpy(e->id, data, 64);
                e->id[64] = 0;
                return 0;
        }
        int r = random_hex_id(e->id);
        if (r < 0)
                return r;
        return write_file_atomic(path, e->id, 64, 0600);
}

int engine_new(const EngineConfig *cfg, Engine **ret, BerthError **err)
{
        crash_point_init();
        Engine *e = xcalloc(1, sizeof(*e));
        if (!e)
                return berr_set(err, ENOMEM, "out of memory");
        e->cfg.data_root = xstrdup(cfg->data_root);
        e->cfg.exec_root = xstrdup(cfg->exec_root);
        e->cfg.bip = cfg->bip ? xstrdup(cfg->bip) : NULL;
        e->cfg.debug = cfg->debug;
        e->cfg.no_userland_proxy = cfg->no_userland_proxy;
        e->cfg.insecure_registries = strv_copy(cfg->insecure_registries);
        e->cfg.discovery = cfg->discovery ? xstrdup(cfg->discovery) : NULL;
        e->cfg.discovery_advertise = cfg->discovery_advertise ? xstrdup(cfg->discovery_advertise) : NULL;
        e->cfg.discovery_ttl = cfg->discovery_ttl;
        e->cfg.layer_max_ratio = cfg->layer_max_ratio;
        e->cfg.layer_max_size = cfg->layer_max_size;
        e->cfg.min_free_space = cfg->min_free_space;
        pthread_mutex_init(&e->lock, NULL);
        e->started_ns = now_ns();
        e->events = events_new();

        int r;
        _cleanup_free_ char *db = NULL;
        /* Docker's modes: the roots may be traversed (the API socket may live
         * in the exec root), everything below is root's alone. Existing
         * directories are set too, for data roots made by older versions.
         * quarantine/ is made 0700 when a damaged record first needs it. */
        const struct {
                bool exec, if_exists;
                const char *sub;
                mode_t mode;
        } dirs[] = {
                { false, false, "", 0711 },           { false, false, "/tmp", 0700 },
                { false, false, "/image", 0700 },     { false, false, "/containers", 0710 },
                { false, true, "/quarantine", 0700 }, { true, false, "", 0711 },
                { true, false, "/containers", 0700 },
        };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *d = xasprintf("%s%s", dirs[i].exec ? e->cfg.exec_root : e->cfg.data_root,
                                                   dirs[i].sub);
                if (dirs[i].if_exists && access(d, F_OK) < 0)
                        continue;
                r = mkdir_p(d, dirs[i].mode);
                if (r >= 0 && chmod(d, dirs[i].mode) < 0)
                        r = -errno;
                if (r < 0) {
                        r = berr_set(err, -r, "cannot create %s: %s", d, strerror(-r));
                        goto fail;
                }
        }
        r = load_daemon_id(e);
        if (r < 0) {
                r = berr_set(err, -r, "cannot write engine id: %s", strerror(-r));
                goto fail;
        }
        db = xasprintf("%s/berth.db", e->cfg.data_root);
        r = store_open(db, &e->store, err);
        if (r < 0)
                goto fail;
        e->images = xmalloc(sizeof(*e->images));
        *e->images = (ImageStore) { .data_root = e->cfg.data_root, .store = e->store, .lock = &e->lock,
                                    .events = e->events, .insecure_registries = e->cfg.insecure_registries,
                                    .layer_max_ratio = e->cfg.layer_max_ratio, .layer_max_size = e->cfg.layer_max_size,
                                    .min_free_space = e->cfg.min_free_space };
        e->net = engine_network_new(e);
        r = volume_store_open(e->cfg.data_root, e->store, e->events, &e->lock, &e->volumes, err);
        if (r < 0)
                goto fail;
        *ret = e;
        return 0;
fail:
        engine_free(e);
        return r;
}

void engine_reload(Engine *e, bool debug, char **insecure_registries)
{
        char **nl = strv_copy(insecure_registries);
        pthread_mutex_lock(&e->lock);
        e->cfg.debug = debug;
        char **old = e->cfg.insecure_registries;
        e->cfg.insecure_registries = nl;
        e->images->insecure_registries = nl;
        pthread_mutex_unlock(&e->lock);
        strv_free(old);
}

void engine_free(Engine *e)
{
        if (!e)
                return;
        health_sched_free(e);
        if (e->images)
                json_decref(e->images->list_cache);
        free(e->images);
        free(e->net);
        volume_store_free(e->volumes);
        store_close(e->store);
        events_free(e->events);
        free(e->cfg.data_root);
        free(e->cfg.exec_root);
        free(e->cfg.bip);
        strv_free(e->cfg.insecure_registries);
        free(e->cfg.discovery);
        free(e->cfg.discovery_advertise);
        pthread_mutex_destroy(&e->lock);
        free(e);
}
