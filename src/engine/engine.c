#include "engine.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/crashpoint.h"
#include "basic/util.h"
#include "engine/events.h"

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
        Engine *e = calloc(1, sizeof(*e));
        if (!e)
                return berr_set(err, ENOMEM, "out of memory");
        e->cfg.data_root = strdup(cfg->data_root);
        e->cfg.exec_root = strdup(cfg->exec_root);
        e->cfg.bip = cfg->bip ? strdup(cfg->bip) : NULL;
        e->cfg.debug = cfg->debug;
        e->cfg.no_userland_proxy = cfg->no_userland_proxy;
        e->cfg.insecure_registries = strv_copy(cfg->insecure_registries);
        e->cfg.discovery = cfg->discovery ? strdup(cfg->discovery) : NULL;
        e->cfg.discovery_advertise = cfg->discovery_advertise ? strdup(cfg->discovery_advertise) : NULL;
        e->cfg.discovery_ttl = cfg->discovery_ttl;
        pthread_mutex_init(&e->lock, NULL);
        e->started_ns = now_ns();
        e->events = events_new();

        int r;
        _cleanup_free_ char *db = NULL;
        const char *dirs[] = { "", "/tmp", "/image", "/containers" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *d = xasprintf("%s%s", e->cfg.data_root, dirs[i]);
                r = mkdir_p(d, 0711);
                if (r < 0) {
                        r = berr_set(err, -r, "cannot create %s: %s", d, strerror(-r));
                        goto fail;
                }
        }
        r = mkdir_p(e->cfg.exec_root, 0711);
        if (r < 0) {
                r = berr_set(err, -r, "cannot create %s: %s", e->cfg.exec_root, strerror(-r));
                goto fail;
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
        *ret = e;
        return 0;
fail:
        engine_free(e);
        return r;
}

void engine_free(Engine *e)
{
        if (!e)
                return;
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
