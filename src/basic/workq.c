#include "workq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "util.h"

struct WorkQueue {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        WorkFn fn;
        void **jobs; /* ring of cap */
        size_t cap, head, len;
        bool stopping;
        pthread_t *threads;
        size_t nthreads;
};

static void *worker(void *arg)
{
        WorkQueue *q = arg;
        pthread_mutex_lock(&q->lock);
        for (;;) {
                while (q->len == 0 && !q->stopping)
                        pthread_cond_wait(&q->cond, &q->lock);
                if (q->stopping)
                        break;
                void *job = q->jobs[q->head];
                q->head = (q->head + 1) % q->cap;
                q->len--;
                pthread_mutex_unlock(&q->lock);
                q->fn(job);
                pthread_mutex_lock(&q->lock);
        }
        pthread_mutex_unlock(&q->lock);
        return NULL;
}

int workq_new(size_t nthreads, size_t cap, WorkFn fn, WorkQueue **ret)
{
        *ret = NULL;
        if (nthreads == 0 || cap == 0)
                return -EINVAL;
        WorkQueue *q = xcalloc(1, sizeof(*q));
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->cond, NULL);
        q->fn = fn;
        q->cap = cap;
        q->jobs = xcalloc(cap, sizeof(*q->jobs));
        q->threads = xcalloc(nthreads, sizeof(*q->threads));
        int r = 0;
        for (; q->nthreads < nthreads; q->nthreads++) {
                r = pthread_create(&q->threads[q->nthreads], NULL, worker, q);
                if (r != 0)
                        break;
        }
        if (q->nthreads == 0) {
                workq_free(q, NULL);
                return -r;
        }
        *ret = q;
        return 0;
}

int workq_push(WorkQueue *q, void *job)
{
        int r = 0;
        pthread_mutex_lock(&q->lock);
        if (q->stopping)
                r = -ESHUTDOWN;
        else if (q->len == q->cap)
                r = -EAGAIN;
        else {
                q->jobs[(q->head + q->len) % q->cap] = job;
                q->len++;
                pthread_cond_signal(&q->cond);
        }
        pthread_mutex_unlock(&q->lock);
        return r;
}

size_t workq_pending(WorkQueue *q)
{
        pthread_mutex_lock(&q->lock);
        size_t n = q->len;
        pthread_mutex_unlock(&q->lock);
        return n;
}

void workq_free(WorkQueue *q, WorkFn drop)
{
        if (!q)
                return;
        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        pthread_cond_broadcast(&q->cond);
        pthread_mutex_unlock(&q->lock);
        for (size_t i = 0; i < q->nthreads; i++)
                pthread_join(q->threads[i], NULL);
        /* the workers are gone: nothing else touches the ring now */
        for (; q->len > 0; q->len--) {
                if (drop)
                        drop(q->jobs[q->head]);
                q->head = (q->head + 1) % q->cap;
        }
        pthread_cond_destroy(&q->cond);
        pthread_mutex_destroy(&q->lock);
        free(q->jobs);
        free(q->threads);
        free(q);
}
