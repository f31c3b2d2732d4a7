// Replays fuzz inputs without libFuzzer: every file named on the command line,
// or every file in a directory named there, goes once through
// LLVMFuzzerTestOneInput. A failed check aborts, which fails the test.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace
{

void replay(const std::filesystem::path& file)
{
  std::ifstream in(file, std::ios::binary);
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in),
                                std::istreambuf_iterator<char>()};
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

} // namespace

int main(int argc, char** argv)
{
  std::size_t count = 0;
  for (int i = 1; i < argc; ++i)
  {
    const std::filesystem::path arg(argv[i]);
    if (std::filesystem::is_directory(arg))
    {
      for (const auto& entry : std::filesystem::directory_iterator(arg))
        if (entry.is_regular_file())
        {
          replay(entry.path());
          ++count;
        }
    }
    else
    {
      replay(arg);
      ++count;
    }
  }
  std::printf("replayed %zu inputs\n", count);
  if (count == 0)
  {
    std::fprintf(stderr, "no inputs found\n");
    return 1;
  }
  return 0;
}
