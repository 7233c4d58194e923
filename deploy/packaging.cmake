# The Debian package (`cmake --build build --target package`, CPack): the binary, systemd units
# for server, controller and worker@NAME, their settings under /etc/llm-gateway (conffiles), a
# dedicated system user (postinst), and llm-gateway(1) generated from --help by help2man.

set(GW_DEPLOY_DIR ${CMAKE_CURRENT_LIST_DIR})

install(FILES ${GW_DEPLOY_DIR}/systemd/llm-gateway-server.service
              ${GW_DEPLOY_DIR}/systemd/llm-gateway-controller.service
              ${GW_DEPLOY_DIR}/systemd/llm-gateway-worker@.service
        DESTINATION lib/systemd/system)
set(GW_CONFFILES /etc/llm-gateway/server.env /etc/llm-gateway/controller.env
                 /etc/llm-gateway/worker.env.example)
install(FILES ${GW_DEPLOY_DIR}/etc/server.env ${GW_DEPLOY_DIR}/etc/controller.env
              ${GW_DEPLOY_DIR}/etc/worker.env.example
        DESTINATION /etc/llm-gateway)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION share/doc/llm-gateway)

# The manual, when help2man is there (the test command installs it; a plain build does without).
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(GW_MANPAGE ${CMAKE_BINARY_DIR}/llm-gateway.1.gz)
  add_custom_command(
    OUTPUT ${GW_MANPAGE}
    COMMAND ${GW_DEPLOY_DIR}/manpage.sh $<TARGET_FILE:llm-gateway> ${CMAKE_BINARY_DIR}/llm-gateway.1
    COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/llm-gateway.1
    DEPENDS llm-gateway ${GW_DEPLOY_DIR}/manpage.sh
    COMMENT "llm-gateway(1) from --help")
  add_custom_target(manpage ALL DEPENDS ${GW_MANPAGE})
  install(FILES ${GW_MANPAGE} DESTINATION share/man/man1)
else()
  message(STATUS "help2man not found: the package will have no manual page")
endif()

file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "")
foreach(conffile ${GW_CONFFILES})
  file(APPEND ${CMAKE_BINARY_DIR}/debian/conffiles "${conffile}\n")
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME llm-gateway)
set(CPACK_PACKAGE_VENDOR llm-gateway)
set(CPACK_PACKAGE_CONTACT "llm-gateway maintainers <maintainers@llm-gateway.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "one OpenAI-compatible API in front of every LLM provider")
set(CPACK_PACKAGE_DESCRIPTION
    "An HTTP gateway that serves OpenAI's chat completions, Responses and embeddings APIs and \
Anthropic's Messages API in front of OpenAI, Anthropic, Ollama, Azure OpenAI and any \
OpenAI-compatible server, with streaming, retries, fallbacks and Prometheus metrics; as one \
process or as controllers routing to workers.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # the libraries' packages, by dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/debian/conffiles ${GW_DEPLOY_DIR}/debian/postinst
    ${GW_DEPLOY_DIR}/debian/prerm ${GW_DEPLOY_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
