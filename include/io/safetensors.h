// safetensors files (the format of the `safetensors` project): 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
// {string: string}}, then the raw little-endian tensor bytes. Used for datasets,
// checkpoints and test fixtures. The reader validates everything before anything
// is used: a bad file is an error message naming the file and the problem.
#ifndef PIXLOC_SAFETENSORS_H
#define PIXLOC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8

typedef enum { ST_F32, ST_F64, ST_I32, ST_I64, ST_U8, ST_U32, ST_U64 } st_dtype;

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t nbytes;
    const void *data; // points into the loaded file; valid until st_close; NULL after st_open_header
    size_t offset;    // the tensor's first byte in the file
} st_tensor;

typedef struct st_file st_file;

// Opens and fully validates a file (header length, JSON, dtypes, shapes,
// offsets in range and not overlapping, sizes consistent). NULL on failure with
// a message "FILE: problem" in err.
st_file *st_open(const char *path, char *err, size_t errlen);
// Same, from bytes in memory (for the fuzzer); `name` is used in messages.
st_file *st_open_mem(const void *bytes, size_t len, const char *name, char *err, size_t errlen);
// Same validation from the header alone (the file's size stands for its data): the
// tensors' data stay in the file, read with st_pread; memory does not grow with the
// file. The file stays open until st_close.
st_file *st_open_header(const char *path, char *err, size_t errlen);
// Copies bytes [off, off + n) of tensor t (of f) to dst, from memory or (st_open_header)
// from the file. 0, or -1 with "FILE: problem" in err (a range outside the tensor, a read error).
int st_pread(const st_file *f, const st_tensor *t, size_t off, void *dst, size_t n, char *err, size_t errlen);
void st_close(st_file *f);
int st_count(const st_file *f);
const st_tensor *st_at(const st_file *f, int i);
const st_tensor *st_find(const st_file *f, const char *name);
// Looks a tensor up and checks dtype and shape; expected dims < 0 match anything.
// NULL with "FILE: tensor 'x' ..." in err if missing or mismatched.
const st_tensor *st_expect(const st_file *f, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
                           char *err, size_t errlen);
// Metadata value for key, or NULL.
const char *st_meta(const st_file *f, const char *key);
int st_meta_count(const st_file *f);
void st_meta_at(const st_file *f, int i, const char **key, const char **value);
const char *st_dtype_name(st_dtype t); // "F32" ...
size_t st_dtype_size(st_dtype t);

// Writer: collects tensors (data is copied) and metadata, then saves atomically
// (temporary file, fsync, rename), so an interruption never leaves a broken file.
typedef struct st_writer st_writer;
st_writer *st_writer_new(void);
void st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape, const void *data);
// Same as st_writer_add without the copy: `data` must stay valid until st_writer_save returns
// (saves a copy of large tensors such as a whole dataset).
void st_writer_add_borrowed(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
                            const void *data);
void st_writer_meta(st_writer *w, const char *key, const char *value);
// 0 on success; -1 with "PATH: problem" in err.
int st_writer_save(st_writer *w, const char *path, char *err, size_t errlen);
void st_writer_free(st_writer *w);

#endif
