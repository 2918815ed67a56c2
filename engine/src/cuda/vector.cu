// The vector arithmetic an optimiser needs (L-BFGS's batched products and combination, its
// stopping tests): the CUDA twin of cpu/vector.rs. Products and sums are formed in double precision, as on the
// CPU, so the optimiser's decisions do not depend on the device.

#define FOLD_DOT 0         // Σ a·b
#define FOLD_SUM_ABS 1     // Σ |a|
#define FOLD_MAX_ABS 2     // max |a| (NaN skipped, as f64::max does)
#define FOLD_NON_FINITE 3  // how many a are NaN or ±∞

struct FoldArgs {
    const float* a;
    const float* b;
    double* partial;  // one per block
    u64 n;
    u32 op;
    u32 unused;
};

// ANCHOR: fold_vector
// Each thread folds elements i, i + (threads in the grid), … (neighbouring threads read
// neighbouring elements), then the block folds its threads' values into one.
extern "C" __global__ void fold_vector(const FoldArgs f) {
    double acc = 0.0;
    FOR_EACH_INDEX(i, f.n) {
        double a = (double)f.a[i];
        switch (f.op) {
            case FOLD_DOT: acc += a * (double)f.b[i]; break;
            case FOLD_SUM_ABS: acc += fabs(a); break;
            case FOLD_MAX_ABS: acc = fmax(acc, fabs(a)); break;
            default: acc += is_finite(f.a[i]) ? 0.0 : 1.0; break;
        }
    }
    double block_value = block_fold(acc, f.op == FOLD_MAX_ABS);
    if (threadIdx.x == 0) f.partial[blockIdx.x] = block_value;
}
// ANCHOR_END: fold_vector

struct AxpyArgs {
    const float* x;
    const float* y;
    float* out;
    u64 n;
    double alpha;
};

// out = y + alpha·x, formed in double and rounded once. With y null: out = alpha·x.
extern "C" __global__ void axpy(const AxpyArgs a) {
    FOR_EACH_INDEX(i, a.n) {
        double base = a.y ? (double)a.y[i] : 0.0;
        a.out[i] = (float)(base + a.alpha * (double)a.x[i]);
    }
}

struct FreeMaskArgs {
    const float* x;
    const float* g;
    float* out;
    u64 n;
    float lo;
    float hi;
};

// 1 where the variable is free, 0 where it sits at a bound and the gradient points out of the
// box: the active set of a box-constrained optimiser.
extern "C" __global__ void free_mask(const FreeMaskArgs a) {
    FOR_EACH_INDEX(i, a.n) {
        float x = a.x[i], g = a.g[i];
        bool active = (x <= a.lo && g > 0.0f) || (x >= a.hi && g < 0.0f);
        a.out[i] = active ? 0.0f : 1.0f;
    }
}

// ANCHOR: bf16_pairs
// Value i of a vector at `tagged`: its address, whose lowest bit (always 0 in an address of
// 4-byte words) is set when the vector is kept as bf16 two to a 32-bit word, value 2k in the
// low half of word k. A bf16 is the top half of an f32, so it widens by a shift.
__device__ __forceinline__ float value_at(u64 tagged, u64 i) {
    const float* address = (const float*)(tagged & ~(u64)1);
    if (!(tagged & 1)) return address[i];
    unsigned word = (unsigned)__float_as_int(address[i >> 1]);
    return __int_as_float((int)((i & 1) ? (word & 0xffff0000u) : (word << 16)));
}

// f32 to bf16, to nearest with ties to even (NaN stays NaN): cpu/packed_gemm_bf16.rs's to_bf16.
__device__ __forceinline__ unsigned to_bf16(float x) {
    unsigned bits = (unsigned)__float_as_int(x);
    if (is_nan(x)) return (bits >> 16) | 0x0040u;
    return (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
}
// ANCHOR_END: bf16_pairs

struct PackArgs {
    const float* from;
    float* to;
    u64 n;  // values
};

// Word k of the packed vector: values 2k and 2k + 1 (0 past the end).
extern "C" __global__ void pack_bf16(const PackArgs a) {
    FOR_EACH_INDEX(k, (a.n + 1) / 2) {
        unsigned low = to_bf16(a.from[2 * k]);
        unsigned high = 2 * k + 1 < a.n ? to_bf16(a.from[2 * k + 1]) : 0u;
        a.to[k] = __int_as_float((int)(low | (high << 16)));
    }
}

extern "C" __global__ void unpack_bf16(const PackArgs a) {
    FOR_EACH_INDEX(i, a.n) a.to[i] = value_at((u64)a.from | 1, i);
}

struct DotsArgs {
    const u64* rows;  // addresses of the row vectors
    const u64* cols;  // addresses of the column vectors, tagged as value_at reads them
    double* partial;  // [rows · cols][parts]
    u64 n;
    u64 n_rows;
    u64 n_cols;
    u64 parts;        // blocks per pair
};

// Every product rows[r]·cols[c] at once (L-BFGS's products over its history). Block
// b = pair·parts + k folds elements k·256 + t, stepping by parts·256, of one pair (neighbouring
// threads read neighbouring elements), and leaves one partial sum; fold_segments adds each
// pair's parts when there is more than one.
extern "C" __global__ void dots_partial(const DotsArgs a) {
    for (u64 b = blockIdx.x; b < a.n_rows * a.n_cols * a.parts; b += gridDim.x) {
        u64 pair = b / a.parts, k = b % a.parts;
        const float* x = (const float*)a.rows[pair / a.n_cols];
        u64 y = a.cols[pair % a.n_cols];
        double acc = 0.0;
        for (u64 i = k * blockDim.x + threadIdx.x; i < a.n; i += a.parts * blockDim.x) {
            acc += (double)x[i] * (double)value_at(y, i);
        }
        double sum = block_fold(acc, false);
        if (threadIdx.x == 0) a.partial[b] = sum;
    }
}

struct SegmentArgs {
    const double* partial;
    double* out;
    u64 segments;
    u64 len;
    u32 maximum;  // fold with max (FOLD_MAX_ABS's partial results), else sum
    u32 unused;
};

// out[s] = the sum (or maximum) of the `len` doubles of segment s, one block per segment: the
// second pass of the vector folds (one segment) and of the batched products (one per pair).
extern "C" __global__ void fold_segments(const SegmentArgs a) {
    for (u64 s = blockIdx.x; s < a.segments; s += gridDim.x) {
        double acc = 0.0;
        for (u64 k = threadIdx.x; k < a.len; k += blockDim.x) {
            double v = a.partial[s * a.len + k];
            acc = a.maximum ? fmax(acc, v) : acc + v;
        }
        double folded = block_fold(acc, a.maximum);
        if (threadIdx.x == 0) a.out[s] = folded;
    }
}

struct CombinationArgs {
    const u64* vectors;  // addresses of the vectors, tagged as value_at reads them
    const double* coefs;
    float* out;
    u64 n;
    u64 count;
};

// out = Σ coefs[j]·vectors[j], each element formed in double and rounded once.
extern "C" __global__ void combination(const CombinationArgs a) {
    FOR_EACH_INDEX(i, a.n) {
        double acc = 0.0;
        for (u64 j = 0; j < a.count; ++j) acc += a.coefs[j] * (double)value_at(a.vectors[j], i);
        a.out[i] = (float)acc;
    }
}
