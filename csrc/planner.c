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
#include <stdlib.h>
#include <string.h>

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

/* One file holds both precisions' wisdom: the double library's
 * s-expression, then the single one's (each starts with "(fftw-").  They
 * are exported and imported as strings: FFTW's file reader reads ahead,
 * so two imports from one FILE would lose the second.  A file with double
 * wisdom only, as older versions wrote, still loads. */
int rtd_wisdom_load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char *text = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)n + 1)) != NULL && fread(text, 1, (size_t)n, f) == (size_t)n)
        text[n] = 0;
    else
        n = -1;
    fclose(f);
    int ok = 0;
    if (n >= 0) {
        char *second = strstr(text + 1, "(fftw-");
        if (second) second[-1] = 0; /* the separating newline */
        rtd_planner_lock();
        ok = fftw_import_wisdom_from_string(text);
        if (ok && second) fftwf_import_wisdom_from_string(second);
        rtd_planner_unlock();
    }
    free(text);
    return ok;
}

int rtd_wisdom_save(const char *path)
{
    rtd_planner_lock();
    char *d = fftw_export_wisdom_to_string(), *s = fftwf_export_wisdom_to_string();
    rtd_planner_unlock();
    int ok = 0;
    FILE *f = d && s ? fopen(path, "wb") : NULL;
    if (f) {
        ok = fprintf(f, "%s\n%s", d, s) > 0;
        ok &= fclose(f) == 0;
    }
    free(d); /* FFTW's strings come from malloc */
    free(s);
    return ok;
}
