/* A minimal client of etcd's v3 JSON gateway (grpc-gateway: POST /v3/...,
 * keys and values base64, int64 as strings), over libcurl. HTTP-free in the
 * berth sense (no libmicrohttpd); used by discovery.c only.
 *
 * Every call makes its own curl handle, so calls from several threads are
 * fine. Endpoints are tried in turn starting with the last one that
 * answered; a call fails only when none answers. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct Etcd Etcd;

/* endpoints: "host:port" strings (copied). */
Etcd *etcd_new(char **endpoints);
void etcd_free(Etcd *c);

/* POST path (e.g. "/v3/kv/put") with the JSON body req (borrowed); on
 * success *ret is the parsed reply. Returns 0, -EIO (nobody answered),
 * -EPROTO (an answer that is not JSON or an HTTP error). */
int etcd_call(Etcd *c, const char *path, json_t *req, json_t **ret, long timeout_ms);

/* POST /v3/watch with req and calls on_msg for every streamed message
 * ({"result":{...}}) until the stream ends, on_msg returns < 0 or
 * should_abort(arg) says so (checked at least once a second). Returns 0
 * when on_msg ended it, -EIO otherwise. */
int etcd_watch(Etcd *c, json_t *req, int (*on_msg)(void *arg, json_t *msg), bool (*should_abort)(void *arg),
               void *arg);

/* The range_end that selects every key starting with prefix (prefix with its
 * last byte incremented), base64. */
char *etcd_prefix_end_b64(const char *prefix);
