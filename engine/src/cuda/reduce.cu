// Sums and maxima over axes: the CUDA twin of cpu/reduce.rs.
//
// The caller permutes the view so that the kept axes come first and the reduced ones last:
// output o then folds the `run` consecutive elements o·run … o·run + run − 1 of the view.
// Short runs are folded by one thread each (reduce_runs). A long run is shared by the 256
// threads of a block, or of several blocks (reduce_runs_in_blocks), which fold it together in
// shared memory; several blocks leave one partial result each, folded by a second launch.

#define REDUCE_SUM 0
#define REDUCE_MAX 1

struct ReduceArgs {
    const float* x;
    float* y;
    u64 outputs;
    u64 run;
    u64 partials;
    Strided x_view;
    u32 op;
    u32 unused;
};

// Both kernels come in two widths (BOTH_WIDTHS in the prelude): index type I.

// Thread o folds output o's run alone (partials is 1 here).
template <typename I, typename S>
__device__ void reduce_runs(const ReduceArgs& a) {
    const I run = (I)a.run;
    FOR_EACH_INDEX_AS(I, o, a.outputs) {
        I first = o * run;
        if (a.op == REDUCE_SUM) {
            // Accumulated in double, like the CPU's f64 sums, so long sums stay accurate.
            double sum = 0.0;
            for (I r = 0; r < run; ++r) sum += (double)a.x[strided_offset<I>(a.x_view, first + r)];
            a.y[o] = (float)sum;
        } else {
            // fmaxf skips NaN, as the CPU's fold with f32::max does.
            float best = -positive_infinity();
            for (I r = 0; r < run; ++r) best = fmaxf(best, a.x[strided_offset<I>(a.x_view, first + r)]);
            a.y[o] = best;
        }
    }
}
BOTH_WIDTHS(reduce_runs, ReduceArgs)

// ANCHOR: reduce_in_blocks
// Block b folds part b % parts of output b / parts: elements k·256 + t of the run, stepping by
// parts·256 (neighbouring threads read neighbouring elements), then the block's 256 values.
template <typename I, typename S>
__device__ void reduce_runs_in_blocks(const ReduceArgs& a) {
    bool maximum = a.op == REDUCE_MAX;
    const I run = (I)a.run, partials = (I)a.partials;
    for (I b = blockIdx.x; b < (I)a.outputs * partials; b += gridDim.x) {
        I first = (b / partials) * run, part = b % partials;
        // Sums in double, like the CPU's f64 sums; fmax skips NaN, as f32::max does.
        double acc = maximum ? -(double)positive_infinity() : 0.0;
        for (I r = part * blockDim.x + threadIdx.x; r < run; r += partials * blockDim.x) {
            double v = (double)a.x[strided_offset<I>(a.x_view, first + r)];
            acc = maximum ? fmax(acc, v) : acc + v;
        }
        double folded = block_fold(acc, maximum);
        if (threadIdx.x == 0) a.y[b] = (float)folded;
    }
}
BOTH_WIDTHS(reduce_runs_in_blocks, ReduceArgs)
// ANCHOR_END: reduce_in_blocks
