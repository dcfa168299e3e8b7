"""cffi builder (API mode) for the C core: ``rtdeclip._core``.

Run by setup.py through ``cffi_modules``; the declarations below are the
public part of ``csrc/rtdeclip.h`` that Python uses.
"""
import os

from cffi import FFI

# setuptools wants paths relative to the project root, where it runs
_ROOT = os.path.relpath(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CSRC = os.path.join(_ROOT, "csrc")
SOURCES = ["stream.c", "spade.c", "select.c", "planner.c"]

CDEF = """
typedef struct rtd_state rtd_state;
typedef enum { RTD_ASPADE = 0, RTD_SSPADE = 1, RTD_SSPADE_ORIGINAL = 2 } rtd_algorithm;
typedef enum { RTD_PLAN_MEASURE = 0, RTD_PLAN_ESTIMATE = 1 } rtd_plan;
typedef struct {
    int channels, window, hop, redundancy;
    rtd_algorithm algorithm;
    int s, r;
    double epsilon;
    int max_iterations, return_last, warm_start, auto_threshold;
    rtd_plan plan;
    const double *analysis_window;
    const double *synthesis_window;
} rtd_config;
typedef struct {
    int64_t samples_in, frames_solved, frames_skipped, frames_converged, iterations;
    int32_t max_frame_iterations;
    int64_t clipped_samples, nonfinite_samples;
} rtd_stats;
void rtd_config_default(rtd_config *cfg);
rtd_state *rtd_create(const rtd_config *cfg, int *error);
void rtd_destroy(rtd_state *st);
void rtd_reset(rtd_state *st);
void rtd_process_double(rtd_state *st, const double *in, double *out, int frames);
void rtd_process_float(rtd_state *st, const float *in, float *out, int frames);
int rtd_latency(const rtd_state *st);
void rtd_set_thresholds(rtd_state *st, int channel, double pos, double neg);
void rtd_get_thresholds(const rtd_state *st, int channel, double *pos, double *neg);
void rtd_set_max_iterations(rtd_state *st, int max_iterations);
int rtd_get_max_iterations(const rtd_state *st);
void rtd_get_stats(const rtd_state *st, rtd_stats *stats);
int rtd_solve_frame(rtd_state *st, const double *y, const int8_t *mask, double *x);
void rtd_time_transforms(rtd_state *st, int n);
void rtd_get_windows(const rtd_state *st, double *analysis, double *synthesis);
int rtd_wisdom_load(const char *path);
int rtd_wisdom_save(const char *path);
const char *rtd_strerror(int error);
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)

_extra_compile = ["-std=c99", "-O3", "-D_GNU_SOURCE", "-Wall"]
_extra_link = []
if os.environ.get("RTDECLIP_SANITIZE"):
    # ASan + UBSan build for the reliability suite (run with LD_PRELOAD of libasan)
    _san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"]
    _extra_compile = ["-std=c99", "-D_GNU_SOURCE", "-Wall"] + _san
    _extra_link = _san

ffibuilder.set_source(
    "rtdeclip._core",
    '#include "rtdeclip.h"',
    sources=[os.path.join(CSRC, f) for f in SOURCES],
    include_dirs=[CSRC],
    libraries=["fftw3_threads", "fftw3", "m", "pthread"],
    extra_compile_args=_extra_compile,
    extra_link_args=_extra_link,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
