// What CUDA C provides built in, written for the host, so that the kernel sources compile with
// an ordinary C++ compiler. The emulator (emulator.rs) sets the block and thread index before
// calling a kernel once for every thread of the launch, one after another, on the host thread
// that launched it. Kernels whose threads cooperate (shared memory, __syncthreads) run block by
// block instead, through picasso_emulator_run_block below.

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#define __global__
#define __device__
#define __forceinline__ inline

struct picasso_dim3 {
    unsigned x, y, z;
};
// One set per host thread: tests launch kernels from several threads at once.
static thread_local picasso_dim3 blockIdx, threadIdx, blockDim, gridDim;

extern "C" void picasso_emulator_set_index(unsigned grid_dim, unsigned block_dim,
                                           unsigned block, unsigned thread) {
    gridDim = {grid_dim, 1, 1};
    blockDim = {block_dim, 1, 1};
    blockIdx = {block, 0, 0};
    threadIdx = {thread, 0, 0};
}

static inline float __int_as_float(int bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline int __float_as_int(float f) {
    int bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

// ANCHOR: cooperative_block
// A block whose threads cooperate. Each thread of the block runs on its own stack as a
// coroutine of the host thread: it runs until it reaches __syncthreads() or leaves the kernel,
// then hands control back to the scheduler, which resumes the next thread. When every thread
// waits at the barrier, a new round starts, so no thread passes a barrier before all have
// reached it — exactly the guarantee CUDA gives. __shared__ variables are static, so the
// threads of the block (all on this host thread) see the same ones.
#define __shared__ static thread_local

namespace picasso_block {
enum State { RUNNING, AT_BARRIER, FINISHED };
struct Thread {
    ucontext_t context;
    State state;
};
// Stack and bookkeeping for the threads of one block, kept for the host thread's next block.
struct Block {
    static const size_t STACK_BYTES = 64 * 1024;
    Thread* threads = nullptr;
    char* stacks = nullptr;
    unsigned capacity = 0;
    ucontext_t scheduler;
    void (*body)(void*) = nullptr;
    void* args = nullptr;
    bool reserve(unsigned n) {
        if (n <= capacity) return true;
        free(threads);
        free(stacks);
        threads = (Thread*)calloc(n, sizeof(Thread));
        stacks = (char*)malloc(n * STACK_BYTES);
        capacity = threads && stacks ? n : 0;
        return capacity != 0;
    }
    ~Block() {
        free(threads);
        free(stacks);
    }
};
static thread_local Block block;

static void run_thread() {
    block.body(block.args);
    block.threads[threadIdx.x].state = FINISHED;
}  // returns to block.scheduler (uc_link)
}  // namespace picasso_block

static inline void __syncthreads() {
    using namespace picasso_block;
    Thread& me = block.threads[threadIdx.x];
    me.state = AT_BARRIER;
    swapcontext(&me.context, &block.scheduler);
}

// Run one block of a cooperative kernel: body(args) once per thread, interleaved at barriers.
// Returns 0, or 1 when some threads left the kernel while others waited at a barrier (undefined
// behaviour on a GPU: a __syncthreads() that not every thread reaches), or 2 when out of memory.
extern "C" int picasso_emulator_run_block(unsigned grid_dim, unsigned block_dim, unsigned index,
                                          void (*body)(void*), void* args) {
    using namespace picasso_block;
    if (!block.reserve(block_dim)) return 2;
    gridDim = {grid_dim, 1, 1};
    blockDim = {block_dim, 1, 1};
    blockIdx = {index, 0, 0};
    block.body = body;
    block.args = args;
    for (unsigned t = 0; t < block_dim; ++t) {
        Thread& thread = block.threads[t];
        getcontext(&thread.context);
        thread.context.uc_stack.ss_sp = block.stacks + (size_t)t * Block::STACK_BYTES;
        thread.context.uc_stack.ss_size = Block::STACK_BYTES;
        thread.context.uc_link = &block.scheduler;
        makecontext(&thread.context, run_thread, 0);
        thread.state = RUNNING;
    }
    for (;;) {
        unsigned waiting = 0, finished = 0;
        for (unsigned t = 0; t < block_dim; ++t) {
            Thread& thread = block.threads[t];
            if (thread.state != FINISHED) {
                threadIdx = {t, 0, 0};
                thread.state = RUNNING;
                swapcontext(&block.scheduler, &thread.context);
            }
            if (thread.state == AT_BARRIER) ++waiting; else ++finished;
        }
        if (waiting == 0) return 0;
        if (finished != 0) return 1;
    }
}
// ANCHOR_END: cooperative_block
