/* planner.h -- serialised access to the FFTW planner (internal). */
#ifndef RTD_PLANNER_H
#define RTD_PLANNER_H
void rtd_planner_lock(void);
void rtd_planner_unlock(void);
#endif
