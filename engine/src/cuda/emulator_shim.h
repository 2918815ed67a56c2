// What CUDA C provides built in, written for the host, so that the kernel sources compile with
// an ordinary C++ compiler. The emulator (emulator.rs) sets the block and thread index before
// calling a kernel once for every thread of the launch, one after another, on the host thread
// that launched it.

#include <math.h>
#include <string.h>

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
