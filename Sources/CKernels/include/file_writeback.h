#ifndef SAESCOPE_FILE_WRITEBACK_H
#define SAESCOPE_FILE_WRITEBACK_H
// Starting the disk writes of a file while it is still being written (file_writeback.c).
#include <stdint.h>

/// Asks the kernel to start writing bytes [offset, offset + length) of the open file `fd` to
/// disk now, without waiting for them (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`), so a
/// later fsync finds most of the file already written. Returns 0, or -1 where the system has
/// no such call (nothing happens; the fsync still writes everything).
int ck_start_writeback(int fd, int64_t offset, int64_t length);

#endif
