// The subcommands of the pixloc binary; each returns the process exit status.
// argv[0] is the subcommand's name.
#ifndef PIXLOC_COMMANDS_H
#define PIXLOC_COMMANDS_H

int cmd_devices(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_kernels(int argc, char **argv);

#endif
