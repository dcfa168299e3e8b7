/* planner.c -- FFTW planner serialisation and wisdom.
 *
 * Only fftw_execute is thread-safe; plan creation and destruction are not.
 * States are created from several threads (one per channel offline), so
 * every planner call goes through one mutex, and FFTW is told it may be
 * called from threads (fftw_make_planner_thread_safe, for both the double
 * and the single-precision library).  None of this runs on the processing
 * path. */
#include "planner.h"
#include "rtdeclip.h"

#include <fftw3.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t planner_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t planner_once = PTHREAD_ONCE_INIT;

static void planner_init(void)
{
    fftw_make_planner_thread_safe();
    fftwf_make_planner_thread_safe();
}

void rtd_planner_lock(void)
{
    pthread_once(&planner_once, planner_init);
    pthread_mutex_lock(&planner_mutex);
}

void rtd_planner_unlock(void) { pthread_mutex_unlock(&planner_mutex); }

/* One file holds both precisions' wisdom, double first then single (FFTW
 * reads one s-expression and stops after it); a file with double wisdom
 * only, as older versions wrote, still loads. */
int rtd_wisdom_load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    rtd_planner_lock();
    int ok = fftw_import_wisdom_from_file(f);
    if (ok) fftwf_import_wisdom_from_file(f);
    rtd_planner_unlock();
    fclose(f);
    return ok;
}

int rtd_wisdom_save(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    rtd_planner_lock();
    fftw_export_wisdom_to_file(f);
    fftwf_export_wisdom_to_file(f);
    rtd_planner_unlock();
    return fclose(f) == 0;
}
