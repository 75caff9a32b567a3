// Shared entry points of the code generators (filled in by the codegen issues).
namespace dlc::codegen {}
