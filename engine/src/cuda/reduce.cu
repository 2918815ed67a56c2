// Sums and maxima over axes: the CUDA twin of cpu/reduce.rs.
//
// The caller permutes the view so that the kept axes come first and the reduced ones last:
// output o then folds the `run` consecutive elements o·run … o·run + run − 1 of the view.
// A long run is split among `partials` threads (thread p takes elements p, p + partials, …,
// so neighbouring threads read neighbouring elements) and the partial results are folded
// again by a second launch; no thread waits for another.

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

extern "C" __global__ void reduce_runs(const ReduceArgs a) {
    FOR_EACH_INDEX(t, a.outputs * a.partials) {
        u64 o = t / a.partials;
        u64 first = o * a.run;
        if (a.op == REDUCE_SUM) {
            // Accumulated in double, like the CPU's f64 sums, so long sums stay accurate.
            double sum = 0.0;
            for (u64 r = t % a.partials; r < a.run; r += a.partials) {
                sum += (double)a.x[strided_offset(a.x_view, first + r)];
            }
            a.y[t] = (float)sum;
        } else {
            // fmaxf skips NaN, as the CPU's fold with f32::max does.
            float best = -positive_infinity();
            for (u64 r = t % a.partials; r < a.run; r += a.partials) {
                best = fmaxf(best, a.x[strided_offset(a.x_view, first + r)]);
            }
            a.y[t] = best;
        }
    }
}
