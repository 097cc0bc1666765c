/*
 * The RDS instance provider's one setting from the command line (providers/rds.c).
 */
#ifndef TT_RDS_H
#define TT_RDS_H

/*
 * How often the alarms that drive vertical scaling are read (`--alarm-poll`, default 60 s).
 * Values <= 0 keep the current one. Set once by cmd/ before the engine starts.
 */
void tt_rds_set_alarm_poll(double seconds);

#endif
