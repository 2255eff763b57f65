/*
 * A cache of large aligned blocks for libtorch's CPU allocator (Linux, glibc).
 *
 * Why: libtorch allocates every tensor with posix_memalign and frees it with free. glibc serves
 * blocks above its mmap threshold with a fresh mmap and returns them with munmap, and the per-thread
 * arenas that PowerShell's pipeline threads use give whole heaps back when they empty. A batch of
 * LeNet's FSSD allocates and frees ~100 MB of activations and gradients, so every batch faults its
 * memory in again page by page (millions of minor faults per run; measured at 3x the compute time on
 * a 2-core VM). Keeping freed large blocks for the next batch of the same shapes removes that.
 *
 * How: fssd_block_cache_install(name) finds the loaded library whose path contains `name` and points
 * its GOT entries for posix_memalign and free at this file's functions. Blocks of at least
 * FSSD_MIN_BLOCK bytes come from, and return to, a free list per (size, alignment); everything else,
 * and every pointer this cache did not hand out, goes to glibc unchanged. Cached memory is bounded (1 GiB):
 * beyond it, the blocks of the sizes used longest ago go back to glibc first. All state is behind one mutex.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FSSD_MIN_BLOCK (256u * 1024u)
#define FSSD_BUCKETS 512

typedef struct { size_t size, align; void *head; size_t count; uint64_t used; } bucket_t;
typedef struct { void *ptr; size_t size, align; } entry_t;

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static bucket_t buckets[FSSD_BUCKETS];
static entry_t *live;            /* open addressing: blocks handed out and not yet returned */
static size_t live_capacity, live_count;
static size_t cached_bytes, cache_limit = (size_t)1 << 30;
static uint64_t hits, misses, released, tick;

static size_t slot_of(void *p, size_t capacity) { return (size_t)(((uintptr_t)p >> 6) * 0x9E3779B97F4A7C15ull) & (capacity - 1); }

static int live_grow(void)
{
    size_t capacity = live_capacity ? live_capacity * 2 : 1024;
    entry_t *table = calloc(capacity, sizeof(entry_t));
    if (!table) return -1;
    for (size_t i = 0; i < live_capacity; i++) {
        if (!live[i].ptr) continue;
        size_t j = slot_of(live[i].ptr, capacity);
        while (table[j].ptr) j = (j + 1) & (capacity - 1);
        table[j] = live[i];
    }
    free(live);
    live = table;
    live_capacity = capacity;
    return 0;
}

static int live_add(void *p, size_t size, size_t align)
{
    if ((live_count + 1) * 2 > live_capacity && live_grow() != 0) return -1;
    size_t j = slot_of(p, live_capacity);
    while (live[j].ptr && live[j].ptr != p) j = (j + 1) & (live_capacity - 1);
    /* An address already listed was given back to glibc some other way: this entry replaces it. */
    if (!live[j].ptr) live_count++;
    live[j].ptr = p; live[j].size = size; live[j].align = align;
    return 0;
}

/* Removes p from the live table; returns 1 and its size and alignment if it was there. */
static int live_take(void *p, size_t *size, size_t *align)
{
    if (!live_capacity) return 0;
    size_t j = slot_of(p, live_capacity);
    while (live[j].ptr) {
        if (live[j].ptr == p) {
            *size = live[j].size; *align = live[j].align;
            /* Backward-shift deletion keeps every probe chain whole. */
            size_t hole = j, k = j;
            for (;;) {
                k = (k + 1) & (live_capacity - 1);
                if (!live[k].ptr) break;
                size_t home = slot_of(live[k].ptr, live_capacity);
                if ((k > hole && (home <= hole || home > k)) || (k < hole && home <= hole && home > k)) {
                    live[hole] = live[k];
                    hole = k;
                }
            }
            live[hole].ptr = NULL;
            live_count--;
            return 1;
        }
        j = (j + 1) & (live_capacity - 1);
    }
    return 0;
}

static bucket_t *bucket_for(size_t size, size_t align, int create)
{
    size_t j = (size_t)((size * 31 + align) * 0x9E3779B97F4A7C15ull) & (FSSD_BUCKETS - 1);
    for (size_t n = 0; n < FSSD_BUCKETS; n++, j = (j + 1) & (FSSD_BUCKETS - 1)) {
        if (buckets[j].size == size && buckets[j].align == align) return &buckets[j];
        if (buckets[j].size == 0) {
            if (!create) return NULL;
            buckets[j].size = size; buckets[j].align = align;
            return &buckets[j];
        }
    }
    return NULL;
}

static int cached_memalign(void **out, size_t align, size_t size)
{
    if (size < FSSD_MIN_BLOCK) return posix_memalign(out, align, size);
    pthread_mutex_lock(&gate);
    bucket_t *b = bucket_for(size, align, 0);
    void *p = NULL;
    if (b && b->head) {
        p = b->head;
        b->head = *(void **)p;
        b->count--;
        b->used = ++tick;
        cached_bytes -= size;
        hits++;
    }
    pthread_mutex_unlock(&gate);
    int fresh = 0;
    if (!p) {
        int rc = posix_memalign(&p, align, size);
        if (rc != 0) return rc;
        fresh = 1;
    }
    pthread_mutex_lock(&gate);
    if (fresh) misses++;
    /* Where it cannot be tracked (no memory for the table) it goes out untracked, and free() hands it
       to glibc like any other block. */
    (void)live_add(p, size, align);
    pthread_mutex_unlock(&gate);
    *out = p;
    return 0;
}

static void cached_free(void *p)
{
    if (!p) return;
    size_t size, align;
    pthread_mutex_lock(&gate);
    if (!live_take(p, &size, &align)) {
        pthread_mutex_unlock(&gate);
        free(p);
        return;
    }
    /* Over the limit: the blocks of the sizes used longest ago go back to glibc first. */
    while (cached_bytes + size > cache_limit) {
        bucket_t *oldest = NULL;
        for (size_t i = 0; i < FSSD_BUCKETS; i++)
            if (buckets[i].head && (!oldest || buckets[i].used < oldest->used)) oldest = &buckets[i];
        if (!oldest) break;
        void *victim = oldest->head;
        oldest->head = *(void **)victim;
        oldest->count--;
        cached_bytes -= oldest->size;
        released++;
        free(victim);
    }
    bucket_t *b = cached_bytes + size <= cache_limit ? bucket_for(size, align, 1) : NULL;
    if (b) {
        *(void **)p = b->head;
        b->head = p;
        b->count++;
        b->used = ++tick;
        cached_bytes += size;
        pthread_mutex_unlock(&gate);
        return;
    }
    released++;
    pthread_mutex_unlock(&gate);
    free(p);
}

/* ---- GOT patching ---------------------------------------------------------------------------- */

typedef struct { const char *name; int patched; int failed; } search_t;

static int patch_slot(void **slot, void *target, ElfW(Addr) relro_start, ElfW(Addr) relro_end)
{
    /* A slot is 8 bytes, aligned: it lies in one page. RELRO pages were made read-only after
       relocation; they are opened for the one store and closed again. */
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)slot & ~(uintptr_t)(page - 1);
    int read_only = (uintptr_t)slot >= relro_start && (uintptr_t)slot < relro_end;
    if (read_only && mprotect((void *)start, (size_t)page, PROT_READ | PROT_WRITE) != 0) return -1;
    __atomic_store_n(slot, target, __ATOMIC_SEQ_CST);
    if (read_only) mprotect((void *)start, (size_t)page, PROT_READ);
    return 0;
}

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    search_t *s = data;
    if (!info->dlpi_name || !strstr(info->dlpi_name, s->name)) return 0;
    ElfW(Dyn) *dyn = NULL;
    ElfW(Addr) relro_start = 0, relro_end = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_DYNAMIC) dyn = (ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
        if (ph->p_type == PT_GNU_RELRO) {
            relro_start = info->dlpi_addr + ph->p_vaddr;
            relro_end = relro_start + ph->p_memsz;
        }
    }
    if (!dyn) return 0;
    ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    ElfW(Rela) *jmprel = NULL, *rela = NULL;
    size_t jmprel_size = 0, rela_size = 0;
    for (ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB: symtab = (ElfW(Sym) *)d->d_un.d_ptr; break;
        case DT_STRTAB: strtab = (const char *)d->d_un.d_ptr; break;
        case DT_JMPREL: jmprel = (ElfW(Rela) *)d->d_un.d_ptr; break;
        case DT_PLTRELSZ: jmprel_size = d->d_un.d_val; break;
        case DT_RELA: rela = (ElfW(Rela) *)d->d_un.d_ptr; break;
        case DT_RELASZ: rela_size = d->d_un.d_val; break;
        }
    }
    if (!symtab || !strtab) return 0;
    ElfW(Rela) *tables[2] = { jmprel, rela };
    size_t sizes[2] = { jmprel_size, rela_size };
    for (int t = 0; t < 2; t++) {
        if (!tables[t]) continue;
        for (size_t i = 0; i < sizes[t] / sizeof(ElfW(Rela)); i++) {
            const ElfW(Rela) *r = &tables[t][i];
            unsigned type = ELF64_R_TYPE(r->r_info);
            if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
            const char *name = strtab + symtab[ELF64_R_SYM(r->r_info)].st_name;
            void *target = NULL;
            if (strcmp(name, "posix_memalign") == 0) target = (void *)cached_memalign;
            else if (strcmp(name, "free") == 0) target = (void *)cached_free;
            if (!target) continue;
            if (patch_slot((void **)(info->dlpi_addr + r->r_offset), target, relro_start, relro_end) == 0) s->patched++;
            else s->failed++;
        }
    }
    return 1;
}

/*
 * Routes posix_memalign and free of the loaded library whose path contains `library` through the
 * cache. Returns the number of GOT entries patched (0: library not loaded or nothing to patch; a
 * negative count: that many entries could not be written, none are left half-done for one symbol).
 */
int fssd_block_cache_install(const char *library)
{
    search_t s = { library, 0, 0 };
    dl_iterate_phdr(visit, &s);
    return s.failed ? -s.failed : s.patched;
}

/* Counters: [0] bytes cached now, [1] blocks handed out now, [2] hits, [3] misses, [4] released. */
void fssd_block_cache_stats(uint64_t out[5])
{
    pthread_mutex_lock(&gate);
    out[0] = cached_bytes; out[1] = live_count; out[2] = hits; out[3] = misses; out[4] = released;
    pthread_mutex_unlock(&gate);
}
