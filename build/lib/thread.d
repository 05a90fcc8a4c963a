build/lib/thread.o: lib/thread.c lib/faas_int.h include/faas.h \
 include/faas/common.h include/faas/version.h include/faas/common.h \
 include/faas/error.h include/faas/runtime.h include/faas/error.h \
 include/faas/function.h include/faas/json.h
lib/faas_int.h:
include/faas.h:
include/faas/common.h:
include/faas/version.h:
include/faas/common.h:
include/faas/error.h:
include/faas/runtime.h:
include/faas/error.h:
include/faas/function.h:
include/faas/json.h:
