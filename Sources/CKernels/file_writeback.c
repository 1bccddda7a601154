#define _GNU_SOURCE
#include "file_writeback.h"
#ifdef __linux__
#include <fcntl.h>
#endif

int ck_start_writeback(int fd, int64_t offset, int64_t length) {
#ifdef __linux__
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)length;
    return -1;
#endif
}
