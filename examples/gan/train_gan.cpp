// A generative adversarial network on Fashion-MNIST from three models compiled by dlc
// (examples/gan/README.md): the generator (inference only, gen.h), the discriminator
// (trained, disc.h) and the generator followed by the frozen discriminator (trained,
// gan.h). Each step trains the discriminator on a batch of real images (target 1) and
// generated ones (target 0), then trains the generator through the frozen discriminator
// to make it answer "real"; the models share their parameters by name. After every
// epoch a PNG grid of the samples of fixed noise is written (libpng).
//
//   train_gan --data DIR [--epochs N] [--limit N] [--seed S] [--out DIR]
#include "disc.h"
#include "dlc_runtime.h"
#include "gan.h"
#include "gen.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int kNoise = 64; // the generator's input
constexpr int kPixels = 28 * 28;
constexpr int kHalf = 64;  // real (and generated) images per discriminator step
constexpr int kGrid = 8;   // the PNG: kGrid x kGrid samples

static_assert(GEN_INPUT_SIZE == kNoise && GAN_INPUT_SIZE == kNoise, "the generator reads 64 noise values");
static_assert(GEN_OUTPUT_SIZE == kPixels && DISC_INPUT_SIZE == kPixels, "28x28 images");
static_assert(DISC_BATCH >= 2 * kHalf && GAN_BATCH >= kHalf && GEN_BATCH >= kGrid * kGrid, "batch sizes");

struct Options {
  std::string data = "/usr/share/datasets/fashion-mnist", out = ".";
  int epochs = 20;
  long limit = 0; // training images used (0: all)
  unsigned seed = 1;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "gan: %s\n", what.c_str());
  std::exit(1);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (i + 1 >= argc) die(a + ": expected a value (train_gan --data DIR [--epochs N] [--limit N] [--seed S] [--out DIR])");
    std::string v = argv[++i];
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    bool number = end && *end == '\0' && n >= 0 && n < 100000000;
    if (a == "--data") o.data = v;
    else if (a == "--out") o.out = v;
    else if (a == "--epochs" && number && n > 0) o.epochs = int(n);
    else if (a == "--limit" && number) o.limit = n;
    else if (a == "--seed" && number) o.seed = unsigned(n);
    else die("bad option " + a + " " + v);
  }
  return o;
}

// Copies every parameter whose name starts with `prefix` from one model to another (the
// same layer names in both model files).
template <class From, class To, class Get, class Set>
void copy_params(From* from, To* to, const char* prefix, int count, const char* (*name)(int), int64_t (*size)(int),
                 Get get, Set set) {
  std::vector<float> buf;
  for (int i = 0; i < count; i++) {
    const char* n = name(i);
    if (std::strncmp(n, prefix, std::strlen(prefix)) != 0) continue;
    buf.resize(size_t(size(i)));
    if (get(from, n, buf.data(), size(i)) != 0 || set(to, n, buf.data(), size(i)) != 0)
      die(std::string("cannot copy parameter ") + n);
  }
}

// Writes a grayscale PNG of kGrid x kGrid images in [0, 1]; false on failure. Plain C data
// only in this function: libpng reports errors by longjmp.
bool write_png(const char* path, const float* images) {
  const int side = kGrid * 28 + (kGrid + 1) * 2; // 2-pixel gaps
  static unsigned char pixels[(kGrid * 28 + (kGrid + 1) * 2) * (kGrid * 28 + (kGrid + 1) * 2)];
  std::memset(pixels, 40, sizeof pixels);
  for (int k = 0; k < kGrid * kGrid; k++)
    for (int y = 0; y < 28; y++)
      for (int x = 0; x < 28; x++) {
        float v = images[k * kPixels + y * 28 + x];
        int row = 2 + (k / kGrid) * 30 + y, col = 2 + (k % kGrid) * 30 + x;
        pixels[row * side + col] = (unsigned char)std::lround(255.0f * (v < 0 ? 0 : v > 1 ? 1 : v));
      }
  FILE* f = std::fopen(path, "wb");
  if (!f) return false;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    return false;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, side, side, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < side; y++) png_write_row(png, pixels + y * side);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return std::fclose(f) == 0;
}

} // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  dlc_rt::Array images;
  try {
    images = dlc_rt::read_idx(o.data + "/train-images-idx3-ubyte.gz");
    dlc_rt::to_input_values(images, false); // pixels in [0, 1], as dlc train reads them
  } catch (const std::exception& e) {
    die(o.data + "/train-images-idx3-ubyte.gz: " + e.what());
  }
  if (images.shape.size() != 3 || images.shape[1] * images.shape[2] != kPixels) die("expected 28x28 images");
  long n = long(images.shape[0]);
  if (o.limit > 0 && o.limit < n) n = o.limit;
  if (n < kHalf) die("fewer training images than one batch");

  gen_ctx* g = gen_create();
  disc_ctx* d = disc_create();
  gan_ctx* c = gan_create();
  if (!g || !d || !c) die("out of memory");
  disc_init(d, o.seed);
  gan_init(c, o.seed + 1);
  copy_params(c, g, "g_", gan_param_count(), gan_param_name, gan_param_size, gan_get_param, gen_set_param);

  std::mt19937 rng(o.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> grid_noise(size_t(kGrid * kGrid * kNoise)), grid(size_t(kGrid * kGrid * kPixels));
  for (float& v : grid_noise) v = normal(rng);
  std::vector<float> noise(size_t(kHalf * kNoise)), batch(size_t(2 * kHalf * kPixels)), targets(size_t(2 * kHalf));
  std::vector<float> real_out(static_cast<size_t>(kHalf)), ones(static_cast<size_t>(kHalf), 1.0f);
  std::vector<long> order(static_cast<size_t>(n));
  for (long i = 0; i < n; i++) order[size_t(i)] = i;

  for (int epoch = 1; epoch <= o.epochs; epoch++) {
    std::shuffle(order.begin(), order.end(), rng);
    double d_loss = 0, g_loss = 0;
    long steps = 0;
    for (long b = 0; b + kHalf <= n; b += kHalf, steps++) {
      // The discriminator: kHalf real images (target 1), then kHalf generated ones (0).
      for (int k = 0; k < kHalf; k++) {
        std::memcpy(batch.data() + k * kPixels, images.data.data() + order[size_t(b + k)] * kPixels, kPixels * sizeof(float));
        targets[size_t(k)] = 1.0f;
        targets[size_t(kHalf + k)] = 0.0f;
      }
      for (float& v : noise) v = normal(rng);
      if (gen_infer(g, noise.data(), batch.data() + kHalf * kPixels, kHalf) != 0) die(gen_error(g));
      float dl = disc_train_step(d, batch.data(), targets.data(), 2 * kHalf);
      if (std::isnan(dl)) die(disc_error(d));
      // The generator, through the frozen discriminator (its current parameters).
      copy_params(d, c, "d_", disc_param_count(), disc_param_name, disc_param_size, disc_get_param, gan_set_param);
      for (float& v : noise) v = normal(rng);
      float gl = gan_train_step(c, noise.data(), ones.data(), kHalf);
      if (std::isnan(gl)) die(gan_error(c));
      copy_params(c, g, "g_", gan_param_count(), gan_param_name, gan_param_size, gan_get_param, gen_set_param);
      d_loss += dl;
      g_loss += gl;
    }
    // How the discriminator sees real images now: the mean probability it gives them.
    if (disc_infer(d, batch.data(), real_out.data(), kHalf) != 0) die(disc_error(d));
    double real_p = 0;
    for (float p : real_out) real_p += p / kHalf;
    if (gen_infer(g, grid_noise.data(), grid.data(), kGrid * kGrid) != 0) die(gen_error(g));
    char path[4096];
    std::snprintf(path, sizeof path, "%s/epoch_%02d.png", o.out.c_str(), epoch);
    if (!write_png(path, grid.data())) die(std::string("cannot write ") + path);
    std::printf("epoch %d/%d: discriminator loss %.4f, generator loss %.4f, D(real) %.3f, wrote %s\n", epoch, o.epochs,
                d_loss / double(steps), g_loss / double(steps), real_p, path);
    std::fflush(stdout);
  }
  gen_destroy(g);
  disc_destroy(d);
  gan_destroy(c);
  return 0;
}
