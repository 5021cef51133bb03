#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "basic/workq.h"
#include "test.h"

/* Workers block on a gate so the test controls when jobs finish. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool open_gate;
static int started, done, dropped;

static void job(void *arg)
{
        (void) arg;
        pthread_mutex_lock(&lock);
        started++;
        pthread_cond_broadcast(&cond);
        while (!open_gate)
                pthread_cond_wait(&cond, &lock);
        done++;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
}

static void drop(void *arg)
{
        (void) arg;
        dropped++;
}

static void reset(void)
{
        open_gate = false;
        started = done = dropped = 0;
}

static void wait_started(int n)
{
        pthread_mutex_lock(&lock);
        while (started < n)
                pthread_cond_wait(&cond, &lock);
        pthread_mutex_unlock(&lock);
}

static void release(void)
{
        pthread_mutex_lock(&lock);
        open_gate = true;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
}

TEST(full_queue_refuses)
{
        reset();
        WorkQueue *q = NULL;
        ASSERT_EQ(workq_new(2, 3, job, &q), 0);
        /* two jobs run (and block), three wait, the sixth is refused */
        ASSERT_EQ(workq_push(q, NULL), 0);
        ASSERT_EQ(workq_push(q, NULL), 0);
        wait_started(2);
        for (int i = 0; i < 3; i++)
                ASSERT_EQ(workq_push(q, NULL), 0);
        ASSERT_EQ(workq_pending(q), 3);
        ASSERT_EQ(workq_push(q, NULL), -EAGAIN);
        release();
        pthread_mutex_lock(&lock);
        while (done < 5)
                pthread_cond_wait(&cond, &lock);
        pthread_mutex_unlock(&lock);
        ASSERT_EQ(workq_pending(q), 0);
        /* room again once the workers caught up */
        ASSERT_EQ(workq_push(q, NULL), 0);
        workq_free(q, drop);
        /* the last one ran or, not yet taken when stopping, was dropped */
        ASSERT_EQ(started + dropped, 6);
}

TEST(free_drops_waiting_jobs)
{
        reset();
        WorkQueue *q = NULL;
        ASSERT_EQ(workq_new(1, 4, job, &q), 0);
        ASSERT_EQ(workq_push(q, NULL), 0);
        wait_started(1);
        ASSERT_EQ(workq_push(q, NULL), 0);
        ASSERT_EQ(workq_push(q, NULL), 0);
        /* the running job finishes, the two waiting ones are handed to drop */
        release();
        workq_free(q, drop);
        ASSERT_EQ(started + dropped, 3);
        ASSERT_EQ(done, started);
}

TEST(bad_sizes)
{
        WorkQueue *q = (WorkQueue *) 1;
        ASSERT_EQ(workq_new(0, 4, job, &q), -EINVAL);
        ASSERT_TRUE(q == NULL);
        ASSERT_EQ(workq_new(2, 0, job, &q), -EINVAL);
}

TEST_MAIN
