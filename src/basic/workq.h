/* A bounded job queue served by a fixed number of worker threads. Pushing
 * never blocks and never starts a thread: a full queue refuses the job, so a
 * flood of work costs a bounded number of threads and a bounded amount of memory. */
#pragma once

#include <stddef.h>

typedef struct WorkQueue WorkQueue;
typedef void (*WorkFn)(void *job);

/* Starts nthreads workers that run fn(job) for each queued job, at most cap waiting.
 * 0, or a negative errno when no worker could be started (then *ret is NULL). */
int workq_new(size_t nthreads, size_t cap, WorkFn fn, WorkQueue **ret);
/* Queues job; -EAGAIN when cap jobs are already waiting, -ESHUTDOWN once stopping.
 * On failure job still belongs to the caller. */
int workq_push(WorkQueue *q, void *job);
/* Jobs waiting (not yet taken by a worker). */
size_t workq_pending(WorkQueue *q);
/* Stops the workers after the jobs they are running, hands each job still waiting
 * to drop (may be NULL), joins the workers and frees q. */
void workq_free(WorkQueue *q, WorkFn drop);
