# Conan 2 recipe for qkit, a header-only library.
#   conan create packaging/conan --build=missing
# The CMake options come from packaging/install-options.txt, shared with the
# vcpkg port and with the ctest that replays both installs (tests/packaging).
import os

from conan import ConanFile
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load


class QkitConan(ConanFile):
    name = "qkit"
    version = "0.1.0"
    description = "Header-only quantized tensor and CPU kernel library for LLM inference (GGUF codecs, GEMV/GEMM, attention)"
    license = "MIT"
    topics = ("quantization", "gguf", "simd", "llm", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    no_copy_source = True

    def export_sources(self):
        root = os.path.join(self.recipe_folder, "..", "..")
        for pattern in ("CMakeLists.txt", "LICENSE", "include/*", "cmake/*", "packaging/install-options.txt"):
            copy(self, pattern, root, self.export_sources_folder)

    def requirements(self):
        self.requires("highway/1.0.3")

    def build_requirements(self):
        self.tool_requires("cmake/[>=3.16]")

    def layout(self):
        cmake_layout(self)

    def package_id(self):
        self.info.clear()

    def _install_options(self):
        text = load(self, os.path.join(self.source_folder, "packaging", "install-options.txt"))
        opts = {}
        for line in text.split():
            key, value = line[2:].split("=", 1)  # -DNAME=VALUE
            opts[key] = value
        return opts

    def generate(self):
        tc = CMakeToolchain(self)
        for key, value in self._install_options().items():
            tc.cache_variables[key] = value
        tc.generate()
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        cmake = CMake(self)
        cmake.install()

    def package_info(self):
        # Use qkit's own installed qkitConfig.cmake (it finds hwy itself).
        self.cpp_info.set_property("cmake_find_mode", "none")
        self.cpp_info.builddirs = [os.path.join("share", "cmake", "qkit")]
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.requires = ["highway::hwy"]
        if self.settings.os in ("Linux", "FreeBSD"):
            self.cpp_info.system_libs = ["pthread"]
