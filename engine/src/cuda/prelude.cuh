// The prelude: compiled in front of every kernel source in this folder, by NVRTC for the GPU
// and by the host emulator's C++ compiler in tests (emulator_shim.h supplies what CUDA builds
// in). Most kernels use no shared memory and no synchronisation between threads: each thread's
// work depends only on its own index, so running the threads one after another on the CPU
// gives exactly what the GPU computes. The reductions cooperate inside a block (block_fold
// below); they are launched as cooperative, and the emulator runs a block's threads together,
// switching between them at every __syncthreads() — which is how CI checks both kinds.

typedef unsigned long long u64;
typedef unsigned int u32;

// A strided view of a buffer: the kernels' twin of layout.rs's `Layout` (see strided.rs).
#define MAX_RANK 8
struct Strided {
    u64 shape[MAX_RANK];
    u64 strides[MAX_RANK];
    u64 offset;
    u32 rank;
    u32 contiguous;
};

// ANCHOR: strided_offset
// Where element `i` (counting in row-major order of the view) lives in the buffer, in index
// type I: the element-wise kernels come in two widths (BOTH_WIDTHS below), and a strided view
// pays one division and one remainder per axis per element, which 32 bits make several times
// cheaper.
template <typename I>
__device__ __forceinline__ I strided_offset(const Strided& view, I i) {
    if (view.contiguous) {
        return (I)view.offset + i;
    }
    I offset = (I)view.offset;
    for (int axis = (int)view.rank - 1; axis >= 0; --axis) {
        I dim = (I)view.shape[axis];
        offset += (i % dim) * (I)view.strides[axis];
        i /= dim;
    }
    return offset;
}

// A grid-stride loop: thread t of T handles t, t + T, t + 2T, … so any grid covers any size.
#define FOR_EACH_INDEX(i, n) \
    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < (u64)(n); \
         i += (u64)gridDim.x * blockDim.x)
// ANCHOR_END: strided_offset

// ANCHOR: both_widths
// Kernels that divide for every element come in two widths, from one template
// `template <typename I, typename S> __device__ void name(const Args&)`: name_32 does its index
// arithmetic in 32 bits (I = u32, S = int) and serves every launch whose indices fit (the host
// checks, launch.rs's index_width), name_64 in 64 bits beyond. A 64-bit division costs several
// times a 32-bit one.
#define BOTH_WIDTHS(name, Args) \
    extern "C" __global__ void name##_32(const Args a) { name<u32, int>(a); } \
    extern "C" __global__ void name##_64(const Args a) { name<u64, long long>(a); }

// The grid-stride loop with an index of type I.
#define FOR_EACH_INDEX_AS(I, i, n) \
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < (I)(n); i += (I)gridDim.x * blockDim.x)
// ANCHOR_END: both_widths

__device__ __forceinline__ float positive_infinity() { return __int_as_float(0x7f800000); }

// Not NaN and not ±∞: the exponent bits are not all ones. Bit tests cannot be optimised away.
__device__ __forceinline__ bool is_finite(float x) {
    return (__float_as_int(x) & 0x7f800000) != 0x7f800000;
}

__device__ __forceinline__ bool is_nan(float x) {
    return !is_finite(x) && (__float_as_int(x) & 0x007fffff) != 0;
}

// Threads per block of the cooperative kernels (launch.rs's THREADS_PER_BLOCK).
#define BLOCK_THREADS 256

// ANCHOR: block_fold
// Fold one double from every thread of the block into one value, a sum or (maximum) a maximum:
// a tree in shared memory. Each step halves the number of threads still folding, so 256 values
// take 8 steps instead of 255 additions by one thread. Every thread of the block must call it
// (it synchronises them) and gets the block's value back.
__device__ double block_fold(double value, bool maximum) {
    __shared__ double values[BLOCK_THREADS];
    unsigned t = threadIdx.x;
    values[t] = value;
    __syncthreads();
    for (unsigned half = BLOCK_THREADS / 2; half > 0; half /= 2) {
        if (t < half) {
            double other = values[t + half];
            values[t] = maximum ? fmax(values[t], other) : values[t] + other;
        }
        __syncthreads();
    }
    double result = values[0];
    __syncthreads();  // everyone has read values[0] before a next call overwrites it
    return result;
}
// ANCHOR_END: block_fold
