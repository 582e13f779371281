/* A per-thread bump arena for jansson's allocations while a hot loop parses one document
 * (a query scan worker's line, the pipe runner's stream record, the dynamodb-cdc processor's
 * Kinesis record).
 * Parsing a JSON line into a tree costs dozens of malloc/free pairs (the object, its hash
 * buckets, every key and string); inside an arena they become pointer bumps and a free
 * only counts down. json_set_alloc_funcs is process-wide, so the hooks serve every thread
 * and every jansson call: outside an active arena they are malloc and free, and a free
 * recognises the calling thread's arena pointers by address. When the last live arena
 * allocation is freed the arena starts over, so memory still referenced is never reused;
 * a tree that outlives its scope (or a request that does not fit) just keeps the arena
 * from restarting until it is freed, and further allocations fall back to malloc.
 *
 * Rule for users: a tree allocated inside a thread's arena is freed on that same thread
 * (a free on another thread would hand an arena address to free()). Open the scope around the
 * parse only: what is made after it (members set later, json_dumps text freed with free())
 * must come from malloc. A thread's arena is freed by sp_json_arena_thread_release or, if
 * the thread never calls it, when the thread exits (kept if something in it is still live).
 */
#include "core.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define ARENA_POISON(p, n) ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Big enough for a document of a few hundred fields; larger ones fall back to malloc. */
enum { ARENA_SIZE = 256 * 1024, ARENA_ALIGN = 16 };

typedef struct arena {
    char *base;
    size_t top;       /* bytes handed out since the last restart */
    size_t live;      /* arena allocations not yet freed */
    int depth;        /* sp_json_arena_begin nesting; allocations go here while > 0 */
} arena;

static _Thread_local arena *tls_arena;
static pthread_key_t exit_key; /* its destructor releases an exiting thread's arena */

static void *arena_malloc(size_t n)
{
    arena *a = tls_arena;
    if (a && a->depth > 0) {
        size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
        if (need >= n && need <= ARENA_SIZE - a->top) {
            void *p = a->base + a->top;
            a->top += need;
            a->live++;
            ARENA_UNPOISON(p, n);
            return p;
        }
    }
    return malloc(n);
}

static void arena_free(void *p)
{
    arena *a = tls_arena;
    if (a && p && (uintptr_t)p >= (uintptr_t)a->base &&
        (uintptr_t)p < (uintptr_t)a->base + ARENA_SIZE) {
        if (--a->live == 0) {
            ARENA_POISON(a->base, a->top);
            a->top = 0;
        }
        return;
    }
    free(p);
}

static void arena_destroy(arena *a)
{
    ARENA_UNPOISON(a->base, ARENA_SIZE);
    free(a->base);
    free(a);
}

/* Thread exit: tls_arena may already be gone, so the arena comes as the key's value. */
static void on_thread_exit(void *p)
{
    arena *a = p;
    if (a && a->live == 0) arena_destroy(a); /* still referenced: kept, as release does */
}

static void install(void)
{
    if (pthread_key_create(&exit_key, on_thread_exit) != 0) abort();
    json_set_alloc_funcs(arena_malloc, arena_free);
}

void sp_json_arena_install(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install);
}

void sp_json_arena_begin(void)
{
    sp_json_arena_install();
    if (!tls_arena) {
        arena *a = calloc(1, sizeof *a);
        if (!a) abort();
        a->base = malloc(ARENA_SIZE);
        if (!a->base) abort();
        ARENA_POISON(a->base, ARENA_SIZE);
        tls_arena = a;
        pthread_setspecific(exit_key, a);
    }
    tls_arena->depth++;
}

void sp_json_arena_end(void)
{
    if (tls_arena && tls_arena->depth > 0) tls_arena->depth--;
}

bool sp_json_arena_thread_release(void)
{
    arena *a = tls_arena;
    if (!a) return true;
    if (a->live) return false; /* still referenced: leave it rather than free under a tree */
    arena_destroy(a);
    tls_arena = NULL;
    pthread_setspecific(exit_key, NULL);
    return true;
}

bool sp_json_arena_active(void) { return tls_arena && tls_arena->depth > 0; }

size_t sp_json_arena_live(void) { return tls_arena ? tls_arena->live : 0; }
