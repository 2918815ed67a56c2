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
    double* partial;
    u64 n;
    u64 partials;
    u32 op;
    u32 unused;
};

// Thread p folds elements p, p + partials, …: one double per thread, combined below.
extern "C" __global__ void fold_vector(const FoldArgs f) {
    FOR_EACH_INDEX(p, f.partials) {
        double acc = 0.0;
        for (u64 i = p; i < f.n; i += f.partials) {
            double a = (double)f.a[i];
            switch (f.op) {
                case FOLD_DOT: acc += a * (double)f.b[i]; break;
                case FOLD_SUM_ABS: acc += fabs(a); break;
                case FOLD_MAX_ABS: acc = fmax(acc, fabs(a)); break;
                default: acc += is_finite(f.a[i]) ? 0.0 : 1.0; break;
            }
        }
        f.partial[p] = acc;
    }
}

struct CombineArgs {
    const double* partial;
    double* out;
    u64 n;
    u64 outputs;
    u32 op;
    u32 unused;
};

// Fold n partial results down to `outputs` of them (max for FOLD_MAX_ABS, else a sum).
extern "C" __global__ void combine_partials(const CombineArgs c) {
    FOR_EACH_INDEX(o, c.outputs) {
        double acc = 0.0;
        for (u64 i = o; i < c.n; i += c.outputs) {
            acc = c.op == FOLD_MAX_ABS ? fmax(acc, c.partial[i]) : acc + c.partial[i];
        }
        c.out[o] = acc;
    }
}

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

struct DotsArgs {
    const u64* rows;  // addresses of the row vectors
    const u64* cols;  // addresses of the column vectors
    double* partial;  // [rows · cols][chunks]
    u64 n;
    u64 n_rows;
    u64 n_cols;
    u64 chunks;
};

// Every product rows[r]·cols[c] at once (L-BFGS's products over its history): thread
// t = pair·chunks + k folds elements k, k + chunks, … of one pair, so neighbouring threads read
// neighbouring elements. sum_segments adds each pair's chunks.
extern "C" __global__ void dots_partial(const DotsArgs a) {
    FOR_EACH_INDEX(t, a.n_rows * a.n_cols * a.chunks) {
        u64 pair = t / a.chunks, k = t % a.chunks;
        const float* x = (const float*)a.rows[pair / a.n_cols];
        const float* y = (const float*)a.cols[pair % a.n_cols];
        double acc = 0.0;
        for (u64 i = k; i < a.n; i += a.chunks) acc += (double)x[i] * (double)y[i];
        a.partial[t] = acc;
    }
}

struct SegmentArgs {
    const double* partial;
    double* out;
    u64 segments;
    u64 len;
};

// out[s] = the sum of the `len` doubles of segment s.
extern "C" __global__ void sum_segments(const SegmentArgs a) {
    FOR_EACH_INDEX(s, a.segments) {
        double acc = 0.0;
        for (u64 k = 0; k < a.len; ++k) acc += a.partial[s * a.len + k];
        a.out[s] = acc;
    }
}

struct CombinationArgs {
    const u64* vectors;  // addresses of the vectors
    const double* coefs;
    float* out;
    u64 n;
    u64 count;
};

// out = Σ coefs[j]·vectors[j], each element formed in double and rounded once.
extern "C" __global__ void combination(const CombinationArgs a) {
    FOR_EACH_INDEX(i, a.n) {
        double acc = 0.0;
        for (u64 j = 0; j < a.count; ++j) acc += a.coefs[j] * (double)((const float*)a.vectors[j])[i];
        a.out[i] = (float)acc;
    }
}
