# SPDX-License-Identifier: GPL-2.0
#
# mptcp_proxy.ko, built out of tree against the project's kernel (scripts/build-kernel.sh
# puts it in the cache and prints its path). The README's two commands are `make demo`
# and `make check`; they call scripts/ and need root.

# KDIR is asked of scripts/build-kernel.sh only when a recipe needs it, and then once
# (the eval turns it into a simple variable): `make demo` and `make check` run on a
# fresh machine before the kernel source is installed, and set it up themselves.
KDIR ?= $(eval KDIR := $(shell scripts/build-kernel.sh --print-kdir))$(KDIR)
KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) CC=gcc HOSTCC=gcc RUSTC=/usr/bin/rustc \
	 HOSTRUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
	 BINDGEN=$(shell bash -c '. scripts/lib.sh && echo $$BINDGEN')

.PHONY: all modules clean rust-analyzer host-test selftests demo check kernel toolchain

all: modules selftests

modules:
	$(KMAKE) modules

clean:
	$(KMAKE) clean
	$(MAKE) -C selftests clean
	rm -rf host/target

rust-analyzer:
	$(KMAKE) rust-analyzer

selftests:
	$(MAKE) -C selftests

host-test:
	cd host && cargo test --quiet

toolchain:
	scripts/setup-toolchain.sh

kernel: toolchain
	scripts/build-kernel.sh

# The README's two commands.
demo:
	scripts/main.sh

check:
	scripts/test.sh
