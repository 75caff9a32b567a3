/* Classifies Fashion-MNIST test images with a model compiled by `dlc compile`: plain C,
   nothing but net.h and the compiled net.cpp (see README.md).

   usage: classify WEIGHTS.safetensors IMAGES.idx [LABELS.idx] INDEX...
   IMAGES and LABELS are the uncompressed IDX files of the test set. */
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char* const kClasses[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                         "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

/* An IDX file of unsigned bytes: its data, the number of items and the bytes per item. */
static unsigned char* read_idx(const char* path, long* items, long* item_size) {
  unsigned char head[4], d[4];
  unsigned char* data;
  long dims = 0, i;
  FILE* f = fopen(path, "rb");
  if (!f || fread(head, 1, 4, f) != 4 || head[0] || head[1] || head[2] != 0x08) {
    fprintf(stderr, "%s: not an uncompressed IDX file of bytes\n", path);
    if (f) fclose(f);
    return NULL;
  }
  *item_size = 1;
  for (i = 0; i < head[3]; i++) {
    if (fread(d, 1, 4, f) != 4) break;
    dims = ((long)d[0] << 24) | ((long)d[1] << 16) | ((long)d[2] << 8) | (long)d[3];
    if (i == 0) *items = dims;
    else *item_size *= dims;
  }
  data = (unsigned char*)malloc((size_t)(*items * *item_size));
  if (!data || fread(data, 1, (size_t)(*items * *item_size), f) != (size_t)(*items * *item_size)) {
    fprintf(stderr, "%s: truncated IDX file\n", path);
    free(data);
    data = NULL;
  }
  fclose(f);
  return data;
}

static int is_number(const char* s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

int main(int argc, char** argv) {
  long n_images, image_size, n_labels = 0, label_size;
  unsigned char *images, *labels = NULL;
  float x[NET_INPUT_SIZE], y[NET_OUTPUT_SIZE];
  int first = 3, i, k, status = 0;
  net_ctx* net;
  if (argc < 4) {
    fprintf(stderr, "usage: %s WEIGHTS.safetensors IMAGES.idx [LABELS.idx] INDEX...\n", argv[0]);
    return 2;
  }
  net = net_create();
  if (!net || net_load(net, argv[1]) != 0) {
    fprintf(stderr, "%s\n", net ? net_error(net) : "out of memory");
    return 1;
  }
  images = read_idx(argv[2], &n_images, &image_size);
  if (!is_number(argv[3])) {
    labels = read_idx(argv[3], &n_labels, &label_size);
    first = 4;
  }
  if (!images || (first == 4 && !labels) || image_size != NET_INPUT_SIZE) {
    if (images) fprintf(stderr, "%s: images of %ld pixels, the model takes %d\n", argv[2], image_size, NET_INPUT_SIZE);
    return 1;
  }
  for (i = first; i < argc; i++) {
    long index = atol(argv[i]);
    int best = 0;
    if (!is_number(argv[i]) || index >= n_images) {
      fprintf(stderr, "%s: not an image index in [0, %ld)\n", argv[i], n_images);
      status = 1;
      continue;
    }
    for (k = 0; k < NET_INPUT_SIZE; k++) x[k] = images[index * NET_INPUT_SIZE + k] / 255.0f;
    if (net_infer(net, x, y, 1) != 0) {
      fprintf(stderr, "%s\n", net_error(net));
      return 1;
    }
    for (k = 1; k < NET_OUTPUT_SIZE; k++)
      if (y[k] > y[best]) best = k;
    printf("image %ld: %s (%.1f%%)", index, kClasses[best % 10], 100.0f * y[best]);
    if (labels && index < n_labels) printf(", labelled %s", kClasses[labels[index] % 10]);
    printf("\n");
  }
  free(images);
  free(labels);
  net_destroy(net);
  return status;
}
